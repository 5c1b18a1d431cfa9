"""Every hook chat offers to the apps above it, in one place: they react to chat, chat never imports them.

Each hook is a Django signal. The write hooks are sent with `send()` (an exception in a
receiver propagates and rolls the write back) inside the write's transaction, after the
rows are written: a receiver sees them, writes in the same transaction, and defers
anything that leaves the process (a frame, a mail) with `transaction.on_commit`, so a
rolled-back write delivers nothing. Apps connect their receivers in `AppConfig.ready()`
(notifications: charla/notifications/receivers.py). The sender is the model class.

message_stored(message)
    A new message was stored (`message.room` and `message.author` are loaded). Sent once
    per message, each room's in order, after the room's own frame was queued for commit.
    One exception to "inside the write's transaction", for speed: on PostgreSQL a batch of
    sends with no @mention in it is one statement that commits by itself, so its receivers
    run just after that commit (what they defer with `on_commit` runs at once). Receivers
    may write only for a message with mentions, or in a transaction of their own.
message_deleted(message)
    A message was deleted (its `content` is already blank).
room_read(room, user, seq)
    The user's read cursor in `room` moved forward to room event `seq`.
membership_changed(room, user, actor, joined)
    `user` joined `room` (`joined=True`: opened a public room, or was invited by `actor`)
    or left it (`joined=False`: left, or was removed by `actor`). `actor` is whoever made
    the change, `user` themselves when they joined or left on their own.

One read hook, sent outside any transaction of chat's:

room_badges(user)
    Asked by `Room.objects.with_unread(user)`: each receiver returns a dict of extra
    annotations (name -> an expression over the room, `OuterRef("pk")`) for the room
    list's badges, such as notifications' `mentions`.
"""

from __future__ import annotations

from django.dispatch import Signal

message_stored = Signal()
message_deleted = Signal()
room_read = Signal()
membership_changed = Signal()
room_badges = Signal()
