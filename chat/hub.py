"""Process-local fan-out: one channel-layer subscription per process, events handed to its sockets in-process.

A stock Channels consumer owns a layer channel: every group message costs a Redis
script per socket, a task per socket and a thread hop per socket, and every socket is
a Redis client blocked in BZPOPMIN. Here a process joins each group once, on behalf
of all its sockets in that group, with one channel; one task receives what the layer
delivers to it and hands the same (already serialized) text to each local socket.
Several processes still act as one room: each joins the group with its own channel.

The layer stays at-most-once: the delivery promise rests on the room counter, each
socket's cursor and the watchdog (docs/delivery.md), which this does not change.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from typing import Protocol

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

from chat.loops import PerLoop
from chat.outbox import corked, wire_frame

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
REORDER_WAIT = 0.05  # seconds a numbered event waits for the ones before it
# Messages for one group that were waiting together leave as one publish of this type.
BUNDLE = "hub.bundle"
MAX_BUNDLE = 100


class _Order:
    """The numbered events of one group as this process received them."""

    __slots__ = ("last", "held", "timer")

    def __init__(self):
        self.last: int | None = None  # the highest number handed to the sockets
        self.held: dict[int, dict] = {}
        self.timer: asyncio.TimerHandle | None = None


class Listener(Protocol):
    """A socket: a message of type "room.event" goes to its method room_event, and so on.

    Handlers must not block: they write at once or schedule the slow work.
    """


class Hub:
    """The fan-out of one event loop (one server process)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.layer = get_channel_layer()
        self.channel_name: str | None = None
        self.groups: dict[str, set[Listener]] = defaultdict(set)
        self._joined: set[str] = set()
        self._membership = asyncio.Lock()
        self._outgoing: deque[tuple[str, dict]] = deque()
        self._wake_publisher = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._orders: dict[str, _Order] = {}
        self._opened: asyncio.Task | None = None

    async def start(self) -> None:
        if self._opened is None:
            self._opened = self.loop.create_task(self._open())
        await self._opened

    async def _open(self) -> None:
        self.channel_name = await self.layer.new_channel()
        self._tasks = [self.loop.create_task(self._receive_forever()), self.loop.create_task(self._publish_forever())]

    async def subscribe(self, group: str, listener: Listener) -> None:
        """Hand `group`'s messages to `listener` from now on (the group is joined before this returns)."""
        await self.start()
        self.groups[group].add(listener)
        if group not in self._joined:
            async with self._membership:
                if group not in self._joined and self.groups.get(group):
                    await self.layer.group_add(group, self.channel_name)
                    self._joined.add(group)

    async def unsubscribe(self, group: str, listener: Listener) -> None:
        listeners = self.groups.get(group)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self.groups[group]
            order = self._orders.pop(group, None)
            if order is not None and order.timer is not None:
                order.timer.cancel()
            async with self._membership:
                if group in self._joined and not self.groups.get(group):
                    self._joined.discard(group)
                    await self.layer.group_discard(group, self.channel_name)

    async def rejoin(self, groups: list[str] | None = None) -> None:
        """Join groups again: the layer forgets members after group_expiry, and all of them when Redis restarts."""
        async with self._membership:
            for group in list(self.groups) if groups is None else groups:
                if self.groups.get(group):
                    await self.layer.group_add(group, self.channel_name)
                    self._joined.add(group)

    def publish(self, group: str, message: dict) -> None:
        """Send a message to a group's sockets in every process, in the order published (loop thread only)."""
        self._outgoing.append((group, {**message, "group": group}))
        self._wake_publisher.set()

    def dispatch(self, message: dict) -> None:
        """Take one received message: a numbered room event waits, briefly, for the ones before it."""
        if message.get("type") == BUNDLE:
            # Each socket gets the bundle's frames in one write (outbox.corked).
            with corked():
                for inner in message["messages"]:
                    self.dispatch(inner)
            return
        seq = message.get("seq")
        if seq is None:
            self.deliver(message)
            return
        order = self._orders.get(message["group"])
        if order is None:
            order = self._orders[message["group"]] = _Order()
        if order.last is not None and seq > order.last + 1:
            # Processes publish in their own commit order, so an event published by another
            # process can overtake this one's: hold it a moment rather than send every
            # socket of the room to the database for a gap that is about to close.
            order.held[seq] = message
            if order.timer is None:
                order.timer = self.loop.call_later(REORDER_WAIT, self._release_held, message["group"])
            return
        self.deliver(message)
        order.last = seq if order.last is None else max(order.last, seq)
        while order.last + 1 in order.held:
            order.last += 1
            self.deliver(order.held.pop(order.last))
        if not order.held and order.timer is not None:
            order.timer.cancel()
            order.timer = None

    def _release_held(self, group: str) -> None:
        """The gap did not close in time (the layer lost an event): let the sockets fill it from the database."""
        order = self._orders.get(group)
        if order is None:
            return
        order.timer = None
        for seq in sorted(order.held):
            self.deliver(order.held.pop(seq))
            order.last = max(order.last, seq)

    def deliver(self, message: dict) -> None:
        """Hand one message to this process's listeners of its group, framed once for all."""
        listeners = self.groups.get(message.get("group"))
        if not listeners:
            return
        if "text" in message:
            message["frame"] = wire_frame(message["text"])
        handler = message["type"].replace(".", "_")
        for listener in list(listeners):
            try:
                getattr(listener, handler)(message)
            except Exception:  # one broken socket must not starve the others
                logger.exception("a socket failed to take a %s event", message.get("type"))

    async def _receive_forever(self) -> None:
        failures = 0
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: wait, then join every group again (a restart forgets them)
                logger.warning("channel layer receive failed", exc_info=failures == 0)
                await asyncio.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                failures += 1
                try:
                    await self.rejoin()
                except Exception:
                    continue
                continue
            failures = 0
            self.dispatch(message)

    async def _publish_forever(self) -> None:
        # One task sends in order, so a room's events leave this process in commit order
        # and the callers (often the database thread, on commit) never wait for Redis.
        # What queued up meanwhile (a batch of sends) leaves as one publish per group.
        while True:
            await self._wake_publisher.wait()
            self._wake_publisher.clear()
            while self._outgoing:
                for group, message in self._take_bundles():
                    try:
                        await self.layer.group_send(group, message)
                    except Exception:  # lost, as the layer may lose it: sockets fill the gap from the database
                        logger.warning("group send to %s failed", group, exc_info=True)

    def _take_bundles(self) -> list[tuple[str, dict]]:
        """Empty the queue into one message per group (each group's in order): a bundle if several."""
        by_group: dict[str, list[dict]] = {}
        while self._outgoing:
            group, message = self._outgoing.popleft()
            messages = by_group.setdefault(group, [])
            messages.append(message)
            if len(messages) == MAX_BUNDLE:
                break
        return [
            (group, messages[0] if len(messages) == 1 else {"type": BUNDLE, "group": group, "messages": messages})
            for group, messages in by_group.items()
        ]


_hubs: PerLoop[Hub] = PerLoop(Hub)


def get_hub() -> Hub:
    """The hub of the running event loop."""
    return _hubs.get()


def publish_sync(group: str, message: dict) -> None:
    """Publish from synchronous code: through the server's hub without waiting when called
    from its database thread, else (commands, WSGI, tests) straight to the layer."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    hub = _hubs.of(loop) if loop is not None else None
    if hub is not None and hub.channel_name is not None and loop.is_running():
        loop.call_soon_threadsafe(hub.publish, group, message)
        return
    async_to_sync(get_channel_layer().group_send)(group, {**message, "group": group})
