"""Publishing from synchronous code, and the events every socket hears: its session's logout, its user's change."""

from __future__ import annotations

import hashlib

from charla.realtime import groups
from charla.realtime.hub import publish_sync

SESSION_ENDED = "session.ended"
USER_CHANGED = "user.changed"
SESSIONS = groups.SESSIONS  # one group for every socket, not one per session


def session_id(session_key: str) -> str:
    """A session's name on the wire (hashed: messages are visible in Redis)."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def group_send_sync(group: str, *messages: dict) -> None:
    """Send messages to a group's sockets from synchronous code (services, on commit), together.

    Access events (a logout, a changed account, a removal) are marked `retain`: the database
    cannot replay them to a process that missed them, so the hub's link keeps them while
    Redis is away (charla.realtime.hublink).
    """
    publish_sync(group, *messages)


def session_ended_sync(session_key: str) -> None:
    """Close every socket opened by a session that logged out."""
    group_send_sync(SESSIONS, {"type": SESSION_ENDED, "session": session_id(session_key), "retain": True})


def user_changed_sync(user_id: int) -> None:
    """Tell a user's sockets that their password, activity or account changed: each checks its session again."""
    group_send_sync(SESSIONS, {"type": USER_CHANGED, "user_id": user_id, "retain": True})
