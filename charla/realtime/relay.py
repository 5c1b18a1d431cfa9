"""The channel layer between processes when there is no Redis: the database.

The in-process layer (InMemoryChannelLayer, what `make run` uses) reaches only the
process that publishes. A command (`manage.py announce`), a task, or a second worker
writes what it publishes to a table as well; every server process reads the table
every RELAY_POLL seconds and hands what other processes wrote to its hub, as the Redis
layer would. Rooms would catch up anyway (their events are numbered and the watchdog
fills gaps); notifications, presence and logouts would not, without this.

On with the in-process layer (`CHARLA_DATABASE_RELAY = "auto"`, the default; False turns it
off), never with Redis. Rows are kept for KEEP_FOR seconds, pruned by readers and writers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from charla.conf import charla_settings

logger = logging.getLogger(__name__)

RELAY_POLL = 0.5  # seconds between two reads of the table by a server process
KEEP_FOR = 60  # seconds a row is kept
PRUNE_EVERY = 30  # seconds between two prunes by a reader
PRUNE_EVERY_ROWS = 500  # a writer prunes once in so many rows
# Rows are numbered when inserted but may commit out of order (PostgreSQL, several
# writers): each read looks this far behind the highest number seen, skipping those seen.
LOOK_BEHIND = 256
REMEMBER = 4096


def in_use() -> bool:
    """With the in-process layer, unless switched off. Never beside Redis: the layer reaches
    every process there, and a relayed copy would reach them twice."""
    setting = charla_settings.DATABASE_RELAY
    if setting is False or str(setting).lower() in {"false", "0", "off", "no"}:
        return False
    return isinstance(get_channel_layer(), InMemoryChannelLayer)


def prune() -> None:
    """Forget rows older than KEEP_FOR seconds."""
    from charla.realtime.models import RelayedMessage

    RelayedMessage.objects.filter(created__lt=timezone.now() - timedelta(seconds=KEEP_FOR)).delete()


def _encode(message: dict) -> str | None:
    try:
        return json.dumps(message, separators=(",", ":"))
    except (TypeError, ValueError):
        logger.exception("a %s message cannot be relayed through the database", message.get("type"))
        return None


def record(origin: str, items: list[tuple[str, dict]]) -> None:
    """Write group messages for the other processes (synchronous: a command, a task, the DB thread)."""
    from charla.realtime.models import RelayedMessage

    rows = [
        RelayedMessage(origin=origin, group=group, message=text)
        for group, message in items
        if (text := _encode(message)) is not None
    ]
    if rows:
        created = RelayedMessage.objects.bulk_create(rows)
        # Writers prune too, now and then: a site whose only writers are commands still stays small.
        if created and created[-1].pk is not None and created[-1].pk % PRUNE_EVERY_ROWS < len(created):
            prune()


_command_origin = f"process-{uuid.uuid4().hex[:16]}"


def record_from_sync(group: str, messages: list[dict]) -> None:
    """What a process without a hub (a command, a task) publishes, for the server processes."""
    record(_command_origin, [(group, {**message, "origin": _command_origin}) for message in messages])


class RelayLink:
    """A server process's side of the relay: writes what its hub publishes, reads what others wrote."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: str, deliver):
        self.loop = loop
        self.origin = origin
        self._deliver = deliver
        self._unwritten: list[tuple[str, dict]] = []
        self._wake_writer = asyncio.Event()
        self._cursor: int | None = None
        self._seen: deque[int] = deque(maxlen=REMEMBER)
        self._seen_set: set[int] = set()
        self._pruned_at = 0.0
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [self.loop.create_task(self._write_forever()), self.loop.create_task(self._read_forever())]

    def send(self, group: str, message: dict) -> None:
        """Queue a message (already marked with this process's origin) for the other processes."""
        self._unwritten.append((group, message))
        self._wake_writer.set()

    async def _write_forever(self) -> None:
        while True:
            await self._wake_writer.wait()
            self._wake_writer.clear()
            items, self._unwritten = self._unwritten, []
            try:
                await database_sync_to_async(record)(self.origin, items)
            except DatabaseError:
                logger.warning("relaying %d messages through the database failed", len(items), exc_info=True)

    async def _read_forever(self) -> None:
        while True:
            try:
                rows = await database_sync_to_async(self._read)()
            except DatabaseError:
                logger.warning("reading the database relay failed", exc_info=True)
                rows = []
            for message in rows:
                try:
                    self._deliver(message)
                except Exception:  # one malformed message must not deafen the process
                    logger.exception("a relayed message could not be delivered")
            await asyncio.sleep(RELAY_POLL)

    def _read(self) -> list[dict]:
        """The messages other processes wrote since the last read (database thread)."""
        from charla.realtime.models import RelayedMessage

        close_old_connections()
        if self._cursor is None:  # from now on: what was relayed before this process started is not its to deliver
            self._cursor = RelayedMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0
            for row_id in RelayedMessage.objects.filter(id__gt=self._cursor - LOOK_BEHIND).values_list("id", flat=True):
                self._remember(row_id)
            return []
        # Numbers and origins first (small); bodies only of rows this process has not seen and did not write.
        window = RelayedMessage.objects.filter(id__gt=self._cursor - LOOK_BEHIND).order_by("id")
        wanted = []
        for row_id, origin in window.values_list("id", "origin")[:1000]:
            if row_id in self._seen_set:
                continue
            self._remember(row_id)
            self._cursor = max(self._cursor, row_id)
            if origin != self.origin:
                wanted.append(row_id)
        fresh = []
        if wanted:
            bodies = dict(RelayedMessage.objects.filter(id__in=wanted).values_list("id", "message"))
            for row_id in wanted:
                try:
                    fresh.append(json.loads(bodies[row_id]))
                except (KeyError, ValueError):  # pruned meanwhile, or not JSON
                    logger.warning("relayed message %s skipped", row_id)
        now = self.loop.time()
        if now - self._pruned_at > PRUNE_EVERY:
            self._pruned_at = now
            prune()
        return fresh

    def _remember(self, row_id: int) -> None:
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(row_id)
        self._seen_set.add(row_id)
