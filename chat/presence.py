"""Who is online in each room: counted per user (not per tab), shared across processes through Redis.

Without REDIS_URL one process serves everyone, and an in-process registry is enough.
With Redis, each open socket is an entry with an expiry that its process refreshes;
a crashed process's entries lapse after PRESENCE_TTL seconds instead of staying online
forever (channels#293).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import defaultdict

from django.conf import settings

PRESENCE_TTL = 60
REFRESH_EVERY = 20


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
        return sorted({next(iter(s.values())) for s in self._rooms.get(room_id, {}).values() if s})


# KEYS: user's sockets zset, room's users zset, room's names hash.
# ARGV: channel, user_id, username, now, expires_at. Returns 1 if the user had no live socket.
_JOIN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
local first = redis.call('ZCARD', KEYS[1]) == 0
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[6])
return first and 1 or 0
"""
# KEYS as above. ARGV: channel, user_id, now. Returns 1 if that was the user's last live socket.
_LEAVE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
  return 1
end
return 0
"""


class RedisPresence:
    """Presence shared by every process through Redis, with expiring entries."""

    def __init__(self, url: str):
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self._join = self._redis.register_script(_JOIN)
        self._leave = self._redis.register_script(_LEAVE)
        self._local: dict[tuple[int, int, str], str] = {}
        self._refresher: asyncio.Task | None = None

    @staticmethod
    def _keys(room_id: int, user_id: int) -> list[str]:
        base = f"charla:presence:{room_id}"
        return [f"{base}:user:{user_id}", f"{base}:users", f"{base}:names"]

    async def join(self, room_id: int, user_id: int, username: str, channel: str) -> bool:
        self._local[(room_id, user_id, channel)] = username
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())
        now = time.time()
        args = [channel, user_id, username, now, now + PRESENCE_TTL, PRESENCE_TTL * 2]
        return bool(await self._join(keys=self._keys(room_id, user_id), args=args))

    async def leave(self, room_id: int, user_id: int, channel: str) -> bool:
        self._local.pop((room_id, user_id, channel), None)
        return bool(await self._leave(keys=self._keys(room_id, user_id), args=[channel, user_id, time.time()]))

    async def online(self, room_id: int) -> list[str]:
        _, users_key, names_key = self._keys(room_id, 0)
        user_ids = await self._redis.zrangebyscore(users_key, time.time(), "+inf")
        if not user_ids:
            return []
        names = await self._redis.hmget(names_key, user_ids)
        return sorted(n.decode() for n in names if n is not None)

    async def _refresh_forever(self) -> None:
        """Keep this process's sockets alive in Redis; entries of a dead process lapse."""
        while self._local:
            await asyncio.sleep(REFRESH_EVERY)
            expires = time.time() + PRESENCE_TTL
            async with self._redis.pipeline(transaction=False) as pipe:
                for room_id, user_id, channel in list(self._local):
                    user_key, users_key, names_key = self._keys(room_id, user_id)
                    pipe.zadd(user_key, {channel: expires})
                    pipe.zadd(users_key, {user_id: expires})
                    for key in (user_key, users_key, names_key):
                        pipe.expire(key, PRESENCE_TTL * 2)
                try:
                    await pipe.execute()
                except Exception:  # Redis briefly away: try again next round.
                    continue


_registries: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_presence() -> LocalPresence | RedisPresence:
    """The presence registry of the running event loop (Redis clients belong to one loop)."""
    loop = asyncio.get_running_loop()
    registry = _registries.get(loop)
    if registry is None:
        registry = RedisPresence(settings.REDIS_URL) if settings.REDIS_URL else LocalPresence()
        _registries[loop] = registry
    return registry
