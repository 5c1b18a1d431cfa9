"""The per-user limit on sends, edits and deletions (CHARLA_SEND_RATE), shared across processes through Redis."""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from chat.loops import PerLoop
from chat.presence import redis_pool

_UNITS = {"s": 1, "m": 60, "h": 3600}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smh])\s*$")


@functools.cache  # called on every write: parse each setting value once
def parse_rate(text: str) -> RateLimitItemPerSecond | None:
    """'30/10s' (30 per 10 seconds), '100/m', '1000/h', or 'off' (None)."""
    if text.strip().lower() == "off":
        return None
    match = _RATE.match(text)
    if not match or int(match[1]) == 0:
        raise ImproperlyConfigured(f"CHARLA_SEND_RATE must look like '30/10s', '100/m' or 'off', not {text!r}.")
    return RateLimitItemPerSecond(int(match[1]), int(match[2] or 1) * _UNITS[match[3]])


def _new_limiter(loop) -> MovingWindowRateLimiter:
    if settings.REDIS_URL:
        storage = RedisStorage(
            "async+" + settings.REDIS_URL,
            implementation="redispy",
            key_prefix="charla:ratelimit",
            connection_pool=redis_pool(settings.REDIS_URL),
        )
    else:
        storage = MemoryStorage()
    return MovingWindowRateLimiter(storage)


_limiters: PerLoop[MovingWindowRateLimiter] = PerLoop(_new_limiter)


async def allow_write(user_id: int) -> bool:
    """Count one write by the user; False when over the limit (the write must be refused)."""
    rate = parse_rate(settings.CHARLA_SEND_RATE)
    if rate is None:
        return True
    return await _limiters.get().hit(rate, "write", str(user_id))
