"""Fan-out of room events: the one place where a room event is serialized and published to the room's sockets.

Every frame is serialized once here; each process's hub (charla.realtime.hub) hands the same text
to its sockets. The event carries the room sequence (or None for best-effort frames
such as typing), so that sockets can drop what they already sent and notice gaps.
"""

from __future__ import annotations

from charla.chat import protocol
from charla.realtime.hub import get_hub
from charla.realtime.publish import group_send_sync

ROOM_EVENT = "room.event"
ROOM_MEMBER_REMOVED = "room.member_removed"


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


def send_room_frames_sync(group: str, numbered: list[tuple[dict, int]]) -> None:
    """Send a room's numbered frames (a batch's, in room order) together: each socket gets them in one write."""
    group_send_sync(group, *(room_event_message(frame, seq=seq) for frame, seq in numbered))


def member_removed_sync(group: str, user_id: int) -> None:
    """Tell a room's sockets that a user lost access, so theirs close at once (retained: see
    charla.realtime.publish)."""
    group_send_sync(group, {"type": ROOM_MEMBER_REMOVED, "user_id": user_id, "retain": True})
