"""The read cursor: how far each member has read each room."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from charla.chat import hooks
from charla.chat.models import Membership, Room


def room_mark_read(*, room: Room, user: AbstractBaseUser, seq: int | None = None) -> int:
    """Move the user's read cursor in `room` forward to `seq` (the room's latest by default).

    Returns the cursor before the move (the first unread message follows it). The
    room_read hook's receivers hear of the move (notifications marks the mentions up to
    there read and tells the user's other pages).
    """
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(room=room, user=user).first()
        if membership is None:
            return 0
        latest = Room.objects.values_list("last_seq", flat=True).get(pk=room.pk)
        target = latest if seq is None else min(seq, latest)
        before = membership.last_read_seq
        if target > before:
            membership.last_read_seq = target
            membership.save(update_fields=["last_read_seq"])
            hooks.room_read.send(Room, room=room, user=user, seq=target)
    return before
