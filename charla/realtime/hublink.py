"""A process's link to the channel layer: its channel, its joins, its publishes, and whether the layer is up.

The hub (charla.realtime.hub) delivers this process's own events to its sockets at once; the
link carries them to the other processes and brings theirs back. Redis may be away:
then joins are kept to be made later, publishes are dropped (the other processes'
watchdogs read what they missed from the database, every second while the layer is
down), and nothing here makes a socket, a send or a connect wait for Redis. A
heartbeat through the layer tells every process, even one that publishes nothing,
when the layer is down and when it is back; on its return the link joins its groups
again and tells the watchdog (charla.chat.watchdog) to catch every socket up at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable

from channels.layers import get_channel_layer

from charla.realtime import groups, relay

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0)
LAYER_TIMEOUT = 2.0  # seconds a join or a publish may take before the layer counts as away
HEARTBEAT_GROUP = groups.HEARTBEAT
HEARTBEAT_EVERY = 1.0
SILENCE_LIMIT = 3.0  # seconds without hearing the layer (its heartbeats included) before it counts as away
MAX_UNSENT = 10_000  # publishes waiting for the layer; older ones are dropped past it (the database has them)
MAX_RETAINED = 1_000  # `retain` messages kept while the layer is away


class LayerLink:
    """Joins, publishes and receives for one hub, and keeps account of the layer's health."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[dict], None], groups: dict[str, set]):
        self.loop = loop
        self.layer = get_channel_layer()
        self.origin = uuid.uuid4().hex[:16]  # this process's publishes carry it; their echo is skipped
        self.channel_name: str | None = None
        self.joined: set[str] = set()
        self.groups = groups  # the hub's listeners by group: the groups worth joining
        self.on_recovery: list[Callable[[], None]] = []
        self._deliver = deliver
        self._membership = asyncio.Lock()
        self._unsent: deque[tuple[str, dict]] = deque()
        self._wake_sender = asyncio.Event()
        self._last_heard = loop.time()
        self._opened: asyncio.Task | None = None
        self._tried = asyncio.Event()  # the first try to open a channel is over
        self._tasks: list[asyncio.Task] = []
        # Without Redis, the other processes are reached through the database (charla.realtime.relay).
        self.relay = relay.RelayLink(loop, self.origin, deliver) if relay.in_use() else None

    @property
    def up(self) -> bool:
        """Whether the layer was heard from lately (a heartbeat or any message)."""
        return self.loop.time() - self._last_heard < SILENCE_LIMIT

    @property
    def started(self) -> bool:
        return self._opened is not None

    async def start(self) -> None:
        """Open the link; if the layer is away, return (after LAYER_TIMEOUT the first time) and keep trying."""
        if self._opened is None:
            self._last_heard = self.loop.time()  # up until it proves otherwise
            self._opened = self.loop.create_task(self._open())
            self._tasks = [self.loop.create_task(self._send_forever()), self.loop.create_task(self._beat_forever())]
            if self.relay is not None:
                self.relay.start()
        await self._tried.wait()  # the first try, bounded by LAYER_TIMEOUT; after it, nobody waits

    async def _open(self) -> None:
        failures = 0
        while self.channel_name is None:
            try:
                self.channel_name = await asyncio.wait_for(self.layer.new_channel(), LAYER_TIMEOUT)
            except Exception:
                logger.warning("the channel layer is away; this process serves its own sockets", exc_info=failures == 0)
                self._went_away()
                self._tried.set()
                await asyncio.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                failures += 1
        self._tried.set()
        self._tasks.append(self.loop.create_task(self._receive_forever()))
        await self.join_all()

    async def join(self, group: str) -> None:
        """Join `group` now, or, with the layer away, once it is back."""
        if group in self.joined or self.channel_name is None or not self.up:
            return
        async with self._membership:
            if group not in self.joined and self.groups.get(group):
                await self._group_add(group)

    async def leave(self, group: str) -> None:
        async with self._membership:
            if group in self.joined and not self.groups.get(group):
                self.joined.discard(group)
                if not self.up:  # a subscription the layer keeps meanwhile costs nothing
                    return
                # Shielded: cancelled half-way, channels-redis's pub/sub layer would think the
                # group still subscribed and never subscribe it again.
                leaving = asyncio.ensure_future(self.layer.group_discard(group, self.channel_name))
                try:
                    await asyncio.wait_for(asyncio.shield(leaving), LAYER_TIMEOUT)
                except Exception:
                    logger.warning("leaving group %s failed", group)

    async def join_all(self, groups: list[str] | None = None) -> bool:
        """Join groups again (all with listeners by default): the layer forgets them after group_expiry or a restart."""
        if self.channel_name is None:
            return False
        async with self._membership:
            for group in [HEARTBEAT_GROUP, *list(self.groups)] if groups is None else groups:
                if (group == HEARTBEAT_GROUP or self.groups.get(group)) and not await self._group_add(group):
                    return False
        return True

    async def _group_add(self, group: str) -> bool:
        try:
            await asyncio.wait_for(self.layer.group_add(group, self.channel_name), LAYER_TIMEOUT)
        except Exception:
            logger.warning("joining group %s failed; joined when the layer is back", group)
            self._went_away()
            return False
        self.joined.add(group)
        return True

    def send(self, group: str, message: dict) -> None:
        """Publish to the other processes, in order, without waiting (loop thread only).

        What the layer fails to take is dropped, for the other processes to read from the
        database, except a message marked `retain` (a logout, a removal: events with no
        number that the database cannot replay), which is sent again until the layer takes it.
        """
        if len(self._unsent) >= MAX_UNSENT:
            self._unsent.popleft()
        message = {**message, "origin": self.origin}
        self._unsent.append((group, message))
        self._wake_sender.set()
        if self.relay is not None and group != HEARTBEAT_GROUP:
            self.relay.send(group, message)

    def _went_away(self) -> None:
        self._last_heard = min(self._last_heard, self.loop.time() - SILENCE_LIMIT)

    def _heard(self) -> None:
        was_up = self.up
        self._last_heard = self.loop.time()
        if not was_up:
            logger.warning("the channel layer is back")
            self._keep(self.loop.create_task(self._recover()))

    def _keep(self, task: asyncio.Task) -> None:
        """Hold a reference to a task until it ends (the loop keeps only weak ones)."""
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    async def _recover(self) -> None:
        if await self.join_all():
            for callback in self.on_recovery:
                callback()

    async def _send_forever(self) -> None:
        # One task sends in order, so a room's events leave this process in commit order.
        while True:
            await self._wake_sender.wait()
            self._wake_sender.clear()
            while self._unsent:
                group, message = self._unsent.popleft()
                try:
                    await asyncio.wait_for(self.layer.group_send(group, message), LAYER_TIMEOUT)
                except Exception:
                    unsent = [(group, message), *self._unsent]
                    kept = [item for item in unsent if item[1].get("retain")][-MAX_RETAINED:]
                    self._unsent = deque(kept)
                    self._went_away()
                    dropped = len(unsent) - len(kept)
                    logger.warning("publishing failed; %d events left for other processes to read", dropped)
                    await asyncio.sleep(HEARTBEAT_EVERY)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            self.send(HEARTBEAT_GROUP, {"type": "hub.heartbeat"})
            if not self.up and self.channel_name is not None:
                # The heartbeat's own join may be what failed: nothing would be heard again without it.
                await self.join_all([HEARTBEAT_GROUP])

    async def _receive_forever(self) -> None:
        failures = 0
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:  # the core layer's receive fails while Redis is away; pub/sub's waits
                logger.warning("channel layer receive failed", exc_info=failures == 0)
                self._went_away()
                await asyncio.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                failures += 1
                await self.join_all()  # a restarted Redis forgot the core layer's groups: the heartbeat's too
                continue
            failures = 0
            try:
                self.received(message)
            except Exception:  # one malformed message must not deafen the process
                logger.exception("a message from the channel layer could not be delivered")

    def received(self, message: dict) -> None:
        """Take a message from the layer: proof that it is up, and an event unless it is this process's own."""
        self._heard()
        if message.get("origin") != self.origin and message.get("type") != "hub.heartbeat":
            self._deliver(message)
