"""Every channel-layer group name, in one place: one layer carries every app's groups (a host
project's too), so each name starts with "charla." and none collides."""

# Every socket: its session's logout and its user's changes (charla.realtime.publish).
SESSIONS = "charla.sessions"
# Every process: the heartbeat that tells whether the layer is up (charla.realtime.hublink).
HEARTBEAT = "charla.heartbeat"
# Every notifications socket: staff announcements.
EVERYONE = "charla.notifications.all"


def room(room_id: int) -> str:
    """A chat room's sockets: its events, typing and presence."""
    return f"charla.room.{room_id}"


def user_notifications(user_id: int) -> str:
    """A user's notifications sockets (every page they have open)."""
    return f"charla.notifications.user.{user_id}"


def room_activity(room_id: int) -> str:
    """The notifications sockets of a room's members: unread and mention badges."""
    return f"charla.notifications.room.{room_id}"
