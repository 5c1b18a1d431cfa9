"""Group commit for chat sends: the sends that arrive while one batch is being written go in the next.

At rest a send is written at once, alone; under load the sockets' sends wait at most
one transaction and then share a commit (services.messages_send). One batcher per
event loop, so one database thread hop per batch instead of one per message.

A batch that the database breaks (a connection terminated, a failover) is tried again
on a new connection for the sends that carry a client_id: a retry of those can never
store one twice. A send without one may have been committed before the connection
broke, so it gets an error instead, and its sender may send it again.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext as _

from charla.chat import services
from charla.chat.errors import ActionError
from charla.chat.storage import SendRequest, SendResult
from charla.realtime.loops import PerLoop

logger = logging.getLogger(__name__)

MAX_BATCH = 200
RETRY_DELAYS = (0.1, 0.5, 1.0)  # seconds before each new try of a broken batch


class SendBatcher:
    """Collects sends and writes them in batches, one batch at a time."""

    def __init__(self):
        self._pending: list[tuple[SendRequest, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    async def send(self, request: SendRequest) -> SendResult:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                results = await self._store([request for request, _ in batch])
            except Exception as exc:  # not the database's doing: every send of the batch hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _store(self, requests: list[SendRequest]) -> list[SendResult]:
        """messages_send, tried again on a new connection while the database breaks it."""
        results: list[SendResult | None] = [None] * len(requests)
        todo = list(range(len(requests)))
        for attempt in range(len(RETRY_DELAYS) + 1):
            if attempt:
                await asyncio.sleep(RETRY_DELAYS[attempt - 1])  # database_sync_to_async replaces a broken connection
            try:
                stored = await database_sync_to_async(services.messages_send)([requests[i] for i in todo])
            except (OperationalError, InterfaceError):  # a broken connection, a failover
                logger.warning("a batch of %d sends failed (try %d)", len(todo), attempt + 1, exc_info=True)
                for i in todo:
                    if requests[i].client_id is None:  # perhaps committed before the break: not tried again
                        results[i] = store_failed()
                todo = [i for i in todo if requests[i].client_id is not None]
                if not todo:
                    break
                continue
            for i, result in zip(todo, stored, strict=True):
                results[i] = result
            if attempt:  # what a broken try committed unseen comes back as "already stored": announce it
                again = [r[0] for r in stored if not isinstance(r, ActionError) and not r[1]]
                if again:
                    await database_sync_to_async(services.messages_announce_again)(messages=again)
            return results  # type: ignore[return-value]
        for i in todo:
            results[i] = store_failed()
        return results  # type: ignore[return-value]


STORE_FAILED = "store_failed"


def store_failed() -> ActionError:
    """The answer to a send that the database broke: the sender may send it again."""
    return ActionError(_("The message could not be stored; send it again."), STORE_FAILED)


_batchers: PerLoop[SendBatcher] = PerLoop(lambda loop: SendBatcher())


def get_batcher() -> SendBatcher:
    """The batcher of the running event loop."""
    return _batchers.get()
