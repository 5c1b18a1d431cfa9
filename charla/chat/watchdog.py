"""A per-process loop that keeps every open socket whole when the channel layer is not.

The channel layer is at-most-once: it drops over capacity, a Redis restart wipes group
memberships, and group_expiry removes long-lived sockets from groups. Each tick, the
watchdog reads the counters of the rooms with sockets in this process (one query) and
asks every socket still behind what was committed a tick ago to fill the gap from the
database (and the hub to join that room's group again). It also announces, once, the
users of a crashed process whose presence lapsed, and has the hub re-join all its
groups each half of the layer's group_expiry, so that a page left open for days keeps
hearing (channels#999). While the layer is away (charla.realtime.hublink) it looks every
DEGRADED_INTERVAL, so that sockets in other processes keep up from the database, and
once the layer is back it looks at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from charla.chat import broadcast, protocol
from charla.chat.models import Room
from charla.conf import charla_settings
from charla.realtime.hub import get_hub
from charla.realtime.loops import PerLoop
from charla.realtime.presence import get_presence

logger = logging.getLogger(__name__)

DEGRADED_INTERVAL = 1.0  # seconds between ticks while the channel layer is away
SWEEP_TIMEOUT = 5.0  # seconds the presence sweep may wait for Redis


class Watchdog:
    """Watches the sockets of one event loop (one server process)."""

    def __init__(self):
        self._sockets: dict[int, set] = defaultdict(set)  # chat sockets, by room
        self._listeners: set = set()  # every socket with groups to keep (chat and notifications)
        self._last_seen: dict[int, int] = {}
        self._rejoined_at = time.monotonic()
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._fast_until = 0.0  # ticks come every DEGRADED_INTERVAL until then (the layer just came back)
        get_hub().link.on_recovery.append(self._layer_back)

    def watch(self, consumer) -> None:
        """Keep a chat socket whole: resync it when behind, and keep its groups."""
        self._sockets[consumer.room.pk].add(consumer)
        self.keep_groups(consumer)

    def keep_groups(self, consumer) -> None:
        """Keep this process's groups (the socket's among them) joined while the socket is open."""
        self._listeners.add(consumer)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def forget(self, consumer) -> None:
        self._listeners.discard(consumer)
        room = getattr(consumer, "room", None)
        sockets = self._sockets.get(room.pk) if room is not None else None
        if sockets is not None:
            sockets.discard(consumer)
            if not sockets:
                del self._sockets[room.pk]
                self._last_seen.pop(room.pk, None)

    def _layer_back(self) -> None:
        """The channel layer is back: look now, and often for a moment, for what was dropped meanwhile."""
        self._fast_until = time.monotonic() + 3 * DEGRADED_INTERVAL
        self._wake.set()

    async def _run(self) -> None:
        while self._listeners:
            interval = charla_settings.WATCH_INTERVAL
            if not get_hub().link.up or time.monotonic() < self._fast_until:
                interval = min(interval, DEGRADED_INTERVAL)
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.tick()
            except Exception:  # the database or Redis is away: try again next tick
                logger.warning("watchdog tick failed", exc_info=True)

    async def tick(self) -> None:
        """One round: resync sockets that are behind, announce lapsed users, keep groups."""
        await self.rejoin_groups_if_due()
        room_ids = list(self._sockets)
        if not room_ids:
            return
        counters = await database_sync_to_async(_room_counters)(room_ids)
        hub = get_hub()
        for room_id in room_ids:
            committed_a_tick_ago = self._last_seen.get(room_id)
            self._last_seen[room_id] = counters.get(room_id, 0)
            if committed_a_tick_ago is None:
                continue
            behind = [c for c in self._sockets.get(room_id, ()) if c.cursor < committed_a_tick_ago]
            if behind:
                if hub.link.up:  # Redis may have lost this process's place in the group: take it again
                    await hub.rejoin([Room.group_name_for(room_id)])
                for consumer in behind:
                    try:
                        consumer.resync()
                    except Exception:  # one broken socket must not keep the others behind
                        logger.warning("resync of a socket in room %s failed", room_id, exc_info=True)
        if not hub.link.up:
            return  # the lapsed users are announced once Redis is back; a sweep now would only wait
        try:
            async with asyncio.timeout(SWEEP_TIMEOUT):
                await self.sweep_presence(room_ids)
        except Exception:  # Redis is away: the lapsed users are announced when it is back
            logger.warning("presence sweep failed", exc_info=True)

    async def rejoin_groups_if_due(self) -> None:
        """The layer forgets a group member after group_expiry: join again at half of it."""
        expiry = getattr(get_channel_layer(), "group_expiry", None)  # pub/sub subscriptions never expire
        if expiry is None or time.monotonic() - self._rejoined_at < expiry / 2:
            return
        self._rejoined_at = time.monotonic()
        await get_hub().rejoin()

    async def sweep_presence(self, room_ids: list[int]) -> None:
        """Announce, once, the users of a crashed process whose presence lapsed."""
        lapsed = await get_presence().sweep(room_ids)
        for room_id, usernames in lapsed.items():
            group = Room.group_name_for(room_id)
            for username in usernames:
                await broadcast.send_room_frame(group, protocol.user_left(username))


def _room_counters(room_ids: list[int]) -> dict[int, int]:
    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "last_seq"))


_watchdogs: PerLoop[Watchdog] = PerLoop(lambda loop: Watchdog())


def get_watchdog() -> Watchdog:
    """The watchdog of the running event loop."""
    return _watchdogs.get()
