"""A per-process loop that keeps every open socket whole when the channel layer is not.

The channel layer is at-most-once: it drops over capacity, a Redis restart wipes group
memberships, and group_expiry removes long-lived sockets from groups. Each tick, the
watchdog reads the counters of the rooms with sockets in this process (one query) and
asks every socket still behind what was committed a tick ago to re-join its group and
fill the gap from the database. It also announces, once, the users of a crashed
process whose presence lapsed.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict

from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings

from chat import broadcast, protocol
from chat.models import Room
from chat.presence import get_presence

logger = logging.getLogger(__name__)

RESYNC = "room.resync"


class Watchdog:
    """Watches the sockets of one event loop (one server process)."""

    def __init__(self):
        self._sockets: dict[int, set] = defaultdict(set)
        self._last_seen: dict[int, int] = {}
        self._task: asyncio.Task | None = None

    def watch(self, consumer) -> None:
        self._sockets[consumer.room.pk].add(consumer)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def forget(self, consumer) -> None:
        sockets = self._sockets.get(consumer.room.pk)
        if sockets is not None:
            sockets.discard(consumer)
            if not sockets:
                del self._sockets[consumer.room.pk]
                self._last_seen.pop(consumer.room.pk, None)

    async def _run(self) -> None:
        while self._sockets:
            await asyncio.sleep(settings.CHARLA_WATCH_INTERVAL)
            try:
                await self.tick()
            except Exception:  # the database or Redis is away: try again next tick
                logger.warning("watchdog tick failed", exc_info=True)

    async def tick(self) -> None:
        """One round: resync sockets that are behind, announce lapsed users."""
        room_ids = list(self._sockets)
        if not room_ids:
            return
        counters = await database_sync_to_async(_room_counters)(room_ids)
        layer = get_channel_layer()
        for room_id in room_ids:
            committed_a_tick_ago = self._last_seen.get(room_id)
            self._last_seen[room_id] = counters.get(room_id, 0)
            if committed_a_tick_ago is None:
                continue
            for consumer in list(self._sockets.get(room_id, ())):
                if consumer.cursor < committed_a_tick_ago:
                    try:
                        await layer.send(consumer.channel_name, {"type": RESYNC})
                    except ChannelFull:
                        # Its queue is full of events still to handle: those will reveal the
                        # gap, or the next tick asks again. The other sockets come first.
                        continue
        for room_id in room_ids:
            try:
                await self.sweep_presence(room_id)
            except Exception:  # one room's failure must not keep the others stale
                logger.warning("presence sweep of room %s failed", room_id, exc_info=True)

    async def sweep_presence(self, room_id: int) -> None:
        """Announce, once, the users of a crashed process whose presence lapsed."""
        presence = get_presence()
        lapsed = await presence.sweep(room_id)
        if lapsed:
            group = Room.group_name_for(room_id)
            for username in lapsed:
                await broadcast.send_room_frame(group, protocol.user_left(username))
            await broadcast.send_room_frame(group, protocol.online_users(await presence.online(room_id)))


def _room_counters(room_ids: list[int]) -> dict[int, int]:
    return dict(Room.objects.filter(pk__in=room_ids).values_list("pk", "last_seq"))


_watchdogs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_watchdog() -> Watchdog:
    """The watchdog of the running event loop."""
    loop = asyncio.get_running_loop()
    watchdog = _watchdogs.get(loop)
    if watchdog is None:
        watchdog = _watchdogs[loop] = Watchdog()
    return watchdog
