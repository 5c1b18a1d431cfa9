"""Group commit for chat sends: the sends that arrive while one batch is being written go in the next.

At rest a send is written at once, alone; under load the sockets' sends wait at most
one transaction and then share a commit (services.messages_send). One batcher per
event loop, so one database thread hop per batch instead of one per message.
"""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async

from chat import services
from chat.loops import PerLoop
from chat.services import SendRequest, SendResult

MAX_BATCH = 200


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
                results = await database_sync_to_async(services.messages_send)([request for request, _ in batch])
            except Exception as exc:  # the database is away: every send of the batch hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


_batchers: PerLoop[SendBatcher] = PerLoop(lambda loop: SendBatcher())


def get_batcher() -> SendBatcher:
    """The batcher of the running event loop."""
    return _batchers.get()
