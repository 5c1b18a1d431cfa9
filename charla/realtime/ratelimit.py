"""Per-user rate limits shared across processes through Redis: writes, and messages to the whole room (@sala, @room)."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time

from django.core.exceptions import ImproperlyConfigured
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from charla.conf import charla_settings
from charla.realtime.loops import PerLoop
from charla.realtime.presence import redis_pool

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600}
REDIS_TIMEOUT = 1.0  # seconds a count may wait for Redis
LOCAL_FOR = 2.0  # seconds limits are counted in this process after Redis failed
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smh])\s*$")


@functools.cache  # called on every write: parse each setting value once
def parse_rate(text: str) -> RateLimitItemPerSecond | None:
    """'30/10s' (30 per 10 seconds), '100/m', '1000/h', or 'off' (None)."""
    if text.strip().lower() == "off":
        return None
    match = _RATE.match(text)
    if not match or int(match[1]) == 0:
        raise ImproperlyConfigured(f"A CHARLA_*_RATE must look like '30/10s', '100/m' or 'off', not {text!r}.")
    return RateLimitItemPerSecond(int(match[1]), int(match[2] or 1) * _UNITS[match[3]])


def _new_limiter(loop) -> MovingWindowRateLimiter:
    if charla_settings.REDIS_URL:
        storage = RedisStorage(
            "async+" + charla_settings.REDIS_URL,
            implementation="redispy",
            key_prefix="charla:ratelimit",
            connection_pool=redis_pool(charla_settings.REDIS_URL),
        )
    else:
        storage = MemoryStorage()
    return MovingWindowRateLimiter(storage)


_limiters: PerLoop[MovingWindowRateLimiter] = PerLoop(_new_limiter)
# With Redis away, each process counts on its own: a limit per process beats refusing every write.
_local_limiters: PerLoop[MovingWindowRateLimiter] = PerLoop(lambda loop: MovingWindowRateLimiter(MemoryStorage()))
_redis_failed_at = -LOCAL_FOR


async def _hit(rate: RateLimitItemPerSecond, namespace: str, user_id: int) -> bool:
    """Count one hit; False when over `rate`."""
    global _redis_failed_at
    if time.monotonic() - _redis_failed_at >= LOCAL_FOR:
        try:
            async with asyncio.timeout(REDIS_TIMEOUT):
                return await _limiters.get().hit(rate, namespace, str(user_id))
        except Exception:
            logger.warning("rate limits are counted per process while Redis is away", exc_info=True)
            _redis_failed_at = time.monotonic()
    return await _local_limiters.get().hit(rate, namespace, str(user_id))


async def allow_write(user_id: int) -> bool:
    """Count one write by the user; False when over the limit (the write must be refused)."""
    rate = parse_rate(charla_settings.SEND_RATE)
    if rate is None:
        return True
    return await _hit(rate, "write", user_id)


async def allow_mass_mention(user_id: int) -> bool:
    """Count one room-wide mention by the user; False when over CHARLA_MASS_MENTION_RATE (the send must be refused)."""
    rate = parse_rate(charla_settings.MASS_MENTION_RATE)
    if rate is None:
        return True
    return await _hit(rate, "mass_mention", user_id)
