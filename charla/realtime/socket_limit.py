"""Open sockets per user in this process (CHARLA_MAX_SOCKETS_PER_USER), chat and notifications counted together.

Counted per process, not through Redis: a count in Redis needs a round trip per connect
and per close, and a crashed process's sockets would stay counted until they expired.
With N workers a user may hold up to N times the limit, still bounded; the proxy bounds
connections per address (docs/scaling.md).
"""

from __future__ import annotations

from collections import Counter

from charla.conf import charla_settings

_open: Counter[int] = Counter()


def claim(user_id: int) -> bool:
    """Count one more socket for the user; False (and nothing counted) when they already have the most allowed."""
    limit = charla_settings.MAX_SOCKETS_PER_USER
    if limit > 0 and _open[user_id] >= limit:
        return False
    _open[user_id] += 1
    return True


def release(user_id: int) -> None:
    """Give back one of the user's places."""
    left = _open[user_id] - 1
    if left > 0:
        _open[user_id] = left
    else:
        del _open[user_id]


def open_sockets(user_id: int) -> int:
    """How many sockets the user holds in this process."""
    return _open.get(user_id, 0)
