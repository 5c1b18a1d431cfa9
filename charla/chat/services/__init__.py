"""Every state change of the chat: validate, write, and broadcast once the transaction commits.

Views, consumers and management commands call these; none of them write to the
database or the channel layer themselves. Rooms and members are in `rooms`, messages in
`messages`, the read cursor in `reading`, a person's settings in `profiles`; reads are in charla.chat.selectors.
"""

from charla.chat.services.messages import (
    message_delete,
    message_edit,
    message_send,
    messages_announce_again,
    messages_send,
)
from charla.chat.services.profiles import profile_update, rooms_notify_set
from charla.chat.services.reading import room_mark_read
from charla.chat.services.rooms import join_default_rooms, member_add, member_remove, room_create, room_open

__all__ = [
    "join_default_rooms",
    "member_add",
    "member_remove",
    "message_delete",
    "message_edit",
    "message_send",
    "messages_announce_again",
    "messages_send",
    "profile_update",
    "room_create",
    "room_mark_read",
    "room_open",
    "rooms_notify_set",
]
