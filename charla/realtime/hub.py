"""Process-local fan-out: one channel-layer subscription per process, events handed to its sockets in-process.

A stock Channels consumer owns a layer channel: every group message costs a Redis
script per socket, a task per socket and a thread hop per socket, and every socket is
a Redis client blocked in BZPOPMIN. Here a process joins each group once, on behalf
of all its sockets in that group, with one channel (charla.realtime.hublink); it hands what the
layer delivers to each local socket, already serialized. Its own events go to its own
sockets at once, without the round trip through Redis, so that with Redis away a
sender is still acknowledged and its neighbours in the process still hear it; the
link carries them to the other processes.

The layer stays at-most-once: the delivery promise rests on the room counter, each
socket's cursor and the watchdog (docs/delivery.md), which this does not change.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from charla.realtime import relay
from charla.realtime.hublink import LayerLink
from charla.realtime.internals import main_event_loop, wire_frame
from charla.realtime.loops import PerLoop
from charla.realtime.outbox import corked

logger = logging.getLogger(__name__)

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
        self.groups: dict[str, set[Listener]] = defaultdict(set)
        self.link = LayerLink(loop, self.dispatch, self.groups)
        self._outgoing: deque[tuple[str, dict]] = deque()
        self._wake_publisher = asyncio.Event()
        self._publisher: asyncio.Task | None = None
        self._orders: dict[str, _Order] = {}

    @property
    def channel_name(self) -> str | None:
        return self.link.channel_name

    async def start(self) -> None:
        if self._publisher is None:
            self._publisher = self.loop.create_task(self._publish_forever())
        await self.link.start()

    async def subscribe(self, group: str, listener: Listener) -> None:
        """Hand `group`'s messages to `listener` from now on (joined before this returns, if the layer is up)."""
        await self.start()
        self.groups[group].add(listener)
        await self.link.join(group)

    async def unsubscribe(self, group: str, listener: Listener) -> None:
        listeners = self.groups.get(group)
        if listeners is None:
            return
        listeners.discard(listener)  # at once: a socket that is gone hears nothing more, whatever the layer does
        if not listeners:
            del self.groups[group]
            order = self._orders.pop(group, None)
            if order is not None and order.timer is not None:
                order.timer.cancel()
            await self.link.leave(group)

    async def rejoin(self, groups: list[str] | None = None) -> bool:
        """Join groups again: the layer forgets members after group_expiry, and all of them when Redis restarts."""
        return await self.link.join_all(groups)

    def publish(self, group: str, *messages: dict) -> None:
        """Send messages to a group's sockets in every process, in the order published (loop thread only)."""
        self._outgoing.extend((group, {**message, "group": group}) for message in messages)
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
        if seq is None or not self.groups.get(message["group"]):
            self.deliver(message)  # nobody here to keep an order for (an event published for other processes)
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
        if "text" in message:  # a copy: the same message may still be on its way to other processes
            message = {**message, "frame": wire_frame(message["text"])}
        handler = message["type"].replace(".", "_")
        for listener in list(listeners):
            try:
                getattr(listener, handler)(message)
            except Exception:  # one broken socket must not starve the others
                logger.exception("a socket failed to take a %s event", message.get("type"))

    async def _publish_forever(self) -> None:
        # What queued up meanwhile (a batch of sends) goes to this process's sockets as one
        # bundle per group, and to the other processes as one publish per group.
        while True:
            await self._wake_publisher.wait()
            self._wake_publisher.clear()
            while self._outgoing:
                for group, message in self._take_bundles():
                    self.link.send(group, message)
                    try:
                        self.dispatch(message)
                    except Exception:  # the publisher must outlive any one event
                        logger.exception("delivering a %s event failed", message.get("type"))

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
            (group, messages[0] if len(messages) == 1 else _bundle(group, messages))
            for group, messages in by_group.items()
        ]


def _bundle(group: str, messages: list[dict]) -> dict:
    bundle = {"type": BUNDLE, "group": group, "messages": messages}
    if any(message.get("retain") for message in messages):
        bundle["retain"] = True  # kept by the link until the layer takes it, like its retained events
    return bundle


_hubs: PerLoop[Hub] = PerLoop(Hub)


def get_hub() -> Hub:
    """The hub of the running event loop."""
    return _hubs.get()


def publish_sync(group: str, *messages: dict) -> None:
    """Publish from synchronous code: through the server's hub without waiting when called
    from its database thread, else (commands, WSGI, tests) straight to the layer, and,
    without Redis, through the database to the server processes (charla.realtime.relay). Messages
    published together reach each socket of this process in one write (one bundle)."""
    loop = main_event_loop()
    hub = _hubs.of(loop) if loop is not None else None
    if hub is not None and hub.link.started and loop.is_running():
        loop.call_soon_threadsafe(hub.publish, group, *messages)
        return
    send = async_to_sync(get_channel_layer().group_send)
    outgoing = [{**message, "group": group} for message in messages]
    relayed = relay.in_use()  # no Redis: the server processes read it from the database

    def publish_all() -> None:
        for message in outgoing:
            send(group, message)
        if relayed:
            relay.record_from_sync(group, outgoing)

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: a plain thread
        publish_all()
        return
    # A loop runs in this very thread without a hub (a sync API over asyncio, such as
    # Playwright's in the browser tests): async_to_sync refuses to run here, so send from a thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(publish_all).result()
