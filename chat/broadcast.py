"""Fan-out: the one place where a room event is serialized and published to the room's sockets.

Every frame is serialized once here; each process's hub (chat.hub) hands the same text
to its sockets. The event carries the room sequence (or None for best-effort frames
such as typing), so that sockets can drop what they already sent and notice gaps.
The hub names each message's group in it, which is how the receiving hubs find their listeners.
"""

from __future__ import annotations

import hashlib

from chat import protocol
from chat.hub import get_hub, publish_sync

ROOM_EVENT = "room.event"
ROOM_MEMBER_REMOVED = "room.member_removed"
SESSION_ENDED = "session.ended"
USER_CHANGED = "user.changed"
# Every socket listens here for its session's logout and its user's changes: one group, not one per session.
SESSIONS = "chat.sessions"


def room_event_message(frame: dict, *, seq: int | None = None, skip_user_id: int | None = None) -> dict:
    """The channel-layer message for one room frame, serialized once."""
    return {"type": ROOM_EVENT, "text": protocol.encode(frame), "seq": seq, "skip_user": skip_user_id}


async def send_room_frame(group: str, frame: dict, *, seq: int | None = None, skip_user_id: int | None = None) -> None:
    """Send a frame to every socket in a room (async callers: consumers)."""
    hub = get_hub()
    await hub.start()
    hub.publish(group, room_event_message(frame, seq=seq, skip_user_id=skip_user_id))


def send_room_frame_sync(group: str, frame: dict, *, seq: int | None = None, skip_user_id: int | None = None) -> None:
    """Send a frame to every socket in a room (sync callers: services, on commit)."""
    group_send_sync(group, room_event_message(frame, seq=seq, skip_user_id=skip_user_id))


def session_id(session_key: str) -> str:
    """A session's name on the wire (hashed: messages are visible in Redis)."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def group_send_sync(group: str, message: dict) -> None:
    """Send a message to a group's sockets from synchronous code (services, on commit).

    Access events (a logout, a changed account, a removal) are marked `retain`: the database
    cannot replay them to a process that missed them, so the hub's link keeps them while
    Redis is away (chat.hublink).
    """
    publish_sync(group, message)


def session_ended_sync(session_key: str) -> None:
    """Close every socket opened by a session that logged out."""
    group_send_sync(SESSIONS, {"type": SESSION_ENDED, "session": session_id(session_key), "retain": True})


def user_changed_sync(user_id: int) -> None:
    """Tell a user's sockets that their password, activity or account changed: each checks its session again."""
    group_send_sync(SESSIONS, {"type": USER_CHANGED, "user_id": user_id, "retain": True})


def member_removed_sync(group: str, user_id: int) -> None:
    """Tell a room's sockets that a user lost access, so theirs close at once."""
    group_send_sync(group, {"type": ROOM_MEMBER_REMOVED, "user_id": user_id, "retain": True})
