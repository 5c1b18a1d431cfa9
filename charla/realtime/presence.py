"""Who is online in each room: counted per user (not per tab), shared across processes through Redis.

Without REDIS_URL one process serves everyone, and one in-process registry is enough.
With Redis, each open socket is an entry with an expiry that its process refreshes;
a crashed process's entries lapse after CHARLA_PRESENCE_TTL seconds instead of staying
online forever (channels#293), and the watchdog announces their leave once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from charla.conf import charla_settings
from charla.realtime import presence_scripts as scripts
from charla.realtime.loops import PerLoop

logger = logging.getLogger(__name__)


def ttl() -> float:
    return charla_settings.PRESENCE_TTL


class LocalPresence:
    """Presence for a single process."""

    def __init__(self):
        self._rooms: dict[int, dict[int, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))

    async def join(self, room_id: int, user_id: int, username: str, channel: str) -> bool:
        """Record a socket; True if it is the user's first in the room."""
        sockets = self._rooms[room_id][user_id]
        first = not sockets
        sockets[channel] = username
        return first

    async def leave(self, room_id: int, user_id: int, channel: str) -> bool:
        """Forget a socket; True if it was the user's last in the room."""
        users = self._rooms.get(room_id, {})
        sockets = users.get(user_id)
        if not sockets or sockets.pop(channel, None) is None:
            return False
        if sockets:
            return False
        del users[user_id]
        return True

    async def online(self, room_id: int) -> list[str]:
        """Usernames online in the room, sorted."""
        return sorted({next(iter(s.values())) for s in list(self._rooms.get(room_id, {}).values()) if s})

    async def sweep(self, room_ids: list[int]) -> dict[int, list[str]]:
        """Users whose every socket lapsed, by room; in one process, sockets never lapse."""
        return {}


def redis_pool(url: str):
    """A pool that makes callers wait for a free connection (redis-py's default pool raises
    MaxConnectionsError past 100, which a room of 1,000 leaving at once reaches), and that
    retries a command once on a new connection: after a Redis restart every pooled
    connection is dead, and redis-py's pools retry nothing by default."""
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    return aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=50,
        timeout=20,
        socket_timeout=10,
        socket_connect_timeout=5,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        health_check_interval=30,
    )


CALL_TIMEOUT = 5.0  # seconds a socket's join, leave or list may wait for Redis
AWAY_FOR = 3.0  # seconds presence answers from this process alone after Redis failed
SWEEP_SLICE = 500  # rooms per pipelined round trip of the sweep, so that other work runs in between
REFRESH_SLICE_ARGS = 1000  # members per refresh call (a few ms of Redis), so that Redis serves others in between


class RedisPresence:
    """Presence shared by every process through Redis, with expiring entries."""

    def __init__(self, url: str):
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis(connection_pool=redis_pool(url))
        self._join = self._redis.register_script(scripts.JOIN)
        self._leave = self._redis.register_script(scripts.LEAVE)
        self._sweep = self._redis.register_script(scripts.SWEEP)
        self._refresh = self._redis.register_script(scripts.REFRESH)
        self._local: dict[tuple[int, int, str], str] = {}
        self._refresher: asyncio.Task | None = None
        self._away_until = 0.0

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()

    @staticmethod
    def _keys(room_id: int, user_id: int) -> list[str]:
        base = f"charla:presence:{room_id}"
        return [f"{base}:user:{user_id}", f"{base}:users", f"{base}:names"]

    async def join(self, room_id: int, user_id: int, username: str, channel: str) -> bool:
        """Record a socket; True if it is the user's first in the room (False, unannounced, with Redis away)."""
        self._local[(room_id, user_id, channel)] = username  # refreshed into Redis when it is back
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())
        now = time.time()
        args = [channel, user_id, username, now, now + ttl(), int(ttl() * 2) + 1]
        return bool(await self._degrade(self._join(keys=self._keys(room_id, user_id), args=args), False))

    async def leave(self, room_id: int, user_id: int, channel: str) -> bool:
        """Forget a socket; True if it was its user's last (with Redis away the entry lapses, and the sweep says so)."""
        self._local.pop((room_id, user_id, channel), None)
        leave = self._leave(keys=self._keys(room_id, user_id), args=[channel, user_id, time.time()])
        return bool(await self._degrade(leave, False))

    async def online(self, room_id: int) -> list[str]:
        """Usernames online in the room, sorted (with Redis away, those of this process's sockets)."""
        here = sorted({name for (room, _user, _channel), name in self._local.items() if room == room_id})
        return await self._degrade(self._online(room_id), here)

    async def _online(self, room_id: int) -> list[str]:
        _, users_key, names_key = self._keys(room_id, 0)
        user_ids = await self._redis.zrangebyscore(users_key, time.time(), "+inf")
        if not user_ids:
            return []
        names = await self._redis.hmget(names_key, user_ids)
        return sorted(n.decode() for n in names if n is not None)

    async def _degrade(self, call, fallback):
        """Presence is not worth a socket: with Redis away or slow, the answer is `fallback`
        (at once for a few seconds after a failure, so that connects do not each wait)."""
        if time.monotonic() < self._away_until:
            call.close()
            return fallback
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                return await call
        except Exception:
            logger.warning("presence is unavailable (Redis away or slow)", exc_info=True)
            self._away_until = time.monotonic() + AWAY_FOR
            return fallback

    async def sweep(self, room_ids: list[int]) -> dict[int, list[str]]:
        """Remove and return, by room, the users whose every socket lapsed (a crashed process's users).

        The rooms go in slices of pipelined script calls: one round trip per slice, where a
        call per room cost 0.2 s of CPU every watchdog tick at 1,000 rooms.
        """
        now, lapsed = time.time(), {}
        for start in range(0, len(room_ids), SWEEP_SLICE):
            rooms = room_ids[start : start + SWEEP_SLICE]
            async with self._redis.pipeline(transaction=False) as pipe:
                for room_id in rooms:
                    _, users_key, names_key = self._keys(room_id, 0)
                    await self._sweep(keys=[users_key, names_key], args=[now], client=pipe)
                replies = await pipe.execute()
            for room_id, names in zip(rooms, replies, strict=True):
                if names:
                    lapsed[room_id] = sorted(n.decode() for n in names)
        return lapsed

    async def refresh(self) -> None:
        """Push back the expiry of this process's sockets (and their users) in Redis.

        One script call per slice of entries: at 10,000 sockets in 1,000 rooms, a ZADD and an
        EXPIRE per user and per room (23,000 pipelined commands) took 0.4 s of CPU every
        10 s; one pipeline of five commands per socket had held the event loop for most of
        a second.
        """
        expires = time.time() + ttl()
        keep = int(ttl() * 2) + 1
        channels: dict[tuple[int, int], list[str]] = defaultdict(list)
        for room_id, user_id, channel in list(self._local):
            channels[(room_id, user_id)].append(channel)
        users: dict[int, list[int]] = defaultdict(list)
        names: dict[int, list] = defaultdict(list)
        for (room_id, user_id, _channel), username in list(self._local.items()):
            if user_id not in users[room_id]:
                users[room_id].append(user_id)
                names[room_id] += [user_id, username]
        entries: list[tuple[str, str, list]] = []  # (key, "z" or "h", its arguments)
        for (room_id, user_id), sockets in channels.items():
            entries.append((self._keys(room_id, user_id)[0], "z", sockets))
        for room_id, user_ids in users.items():
            _, users_key, names_key = self._keys(room_id, 0)
            entries += [(users_key, "z", user_ids), (names_key, "h", names[room_id])]
        keys: list[str] = []
        args: list = [expires, keep]
        for key, kind, members in entries:
            keys.append(key)
            args += [kind, len(members), *members]
            if len(args) >= REFRESH_SLICE_ARGS:
                await self._refresh(keys=keys, args=args)
                keys, args = [], [expires, keep]
        if keys:
            await self._refresh(keys=keys, args=args)

    async def _refresh_forever(self) -> None:
        """Keep this process's sockets alive in Redis; entries of a dead process lapse."""
        while self._local:
            await asyncio.sleep(ttl() / 3)
            try:
                await self.refresh()
            except Exception:  # Redis briefly away: try again next round.
                logger.warning("presence refresh failed", exc_info=True)


local_presence = LocalPresence()
_redis_registries: PerLoop[RedisPresence] = PerLoop(lambda loop: RedisPresence(charla_settings.REDIS_URL))


def get_presence() -> LocalPresence | RedisPresence:
    """The registry: the process's own without Redis, else one per event loop (Redis clients belong to one loop)."""
    if not charla_settings.REDIS_URL:
        return local_presence
    return _redis_registries.get()


def online_usernames(room_id: int) -> list[str]:
    """Who is online in a room, from synchronous code (views, commands, the model)."""
    from asgiref.sync import async_to_sync

    async def read() -> list[str]:
        if not charla_settings.REDIS_URL:
            return await local_presence.online(room_id)
        presence = RedisPresence(charla_settings.REDIS_URL)
        try:
            return await presence.online(room_id)
        finally:
            await presence.close()

    return async_to_sync(read)()
