"""Every read of the chat that is more than a named QuerySet method: membership checks, history, missed events."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef

from charla.chat import events
from charla.chat.errors import message_not_found, not_a_member, unauthenticated
from charla.chat.models import Membership, Message, Profile, Room
from charla.conf import charla_settings


def is_member(*, room: Room, user: AbstractBaseUser) -> bool:
    """Whether `user` belongs to `room`."""
    return Membership.objects.filter(room=room, user=user).exists()


def is_owner(*, room: Room, user: AbstractBaseUser) -> bool:
    """Whether `user` owns `room`."""
    return Membership.objects.filter(room=room, user=user, role=Membership.Role.OWNER).exists()


def require_member(*, room: Room, user: AbstractBaseUser) -> None:
    """Refuse a user who may no longer act as the caller authenticated them, or who is not a member (one query)."""
    member = Exists(Membership.objects.filter(room=room, user=OuterRef("pk")))
    found = get_user_model().objects.filter(pk=user.pk).annotate(member=member)
    row = found.values_list("is_active", "password", "member").first()
    if row is None or not row[0] or row[1] != user.password:
        raise unauthenticated()
    if not row[2]:
        raise not_a_member()


def room_history(*, room: Room, after: int | None = None) -> dict:
    """The `historial` frame: the last messages, or (with `after`) everything changed since that event.

    When more changed than one frame should carry, or `after` is ahead of the room (a
    reset database), the frame holds the latest messages and says `limited`.
    """
    # Read the counter first: commits are in event order per room (the row lock), so the
    # messages read next include every event up to it, and perhaps a few after it.
    seq = Room.objects.values_list("last_seq", flat=True).get(pk=room.pk)
    messages = Message.objects.filter(room=room).select_related("author", "room")
    limited = after is not None
    if after is not None and after <= seq:
        chosen = list(messages.changed_after(after)[: charla_settings.RESUME_MAX + 1])
        limited = len(chosen) > charla_settings.RESUME_MAX
    if limited or after is None:
        chosen = list(messages.visible().order_by("-seq")[: charla_settings.HISTORY_SIZE])[::-1]
    cursor = max([seq, *(m.updated_seq for m in chosen)])
    return events.history([events.message_payload(m) for m in chosen], cursor, limited=limited)


def messages_before(*, room: Room, before_id: int | None, limit: int) -> tuple[list[Message], bool]:
    """Up to `limit` visible messages older than message `before_id` (or the newest), oldest first.

    Returns (messages, whether older ones exist).
    """
    messages = Message.objects.visible().filter(room=room).select_related("author", "room").order_by("-seq")
    if before_id is not None:
        anchor = Message.objects.filter(room=room, pk=before_id).values_list("seq", flat=True).first()
        if anchor is None:
            raise message_not_found()
        messages = messages.filter(seq__lt=anchor)
    page = list(messages[: limit + 1])
    return page[:limit][::-1], len(page) > limit


def events_after(
    *, room: Room, reader: AbstractBaseUser, seq: int, gap_start: int | None = None
) -> tuple[list[dict], int, bool]:
    """One page of the frames a socket at room event `seq` missed: (frames, new cursor, caught up).

    Used when a socket notices a gap in the live stream (events that arrived out of
    order, or that the channel layer dropped). Several events on one message collapse
    into its current state. A page is cut in event order, so the cursor never passes
    an event it left out, and sent in room order. Messages created after `gap_start`
    (the socket's cursor before the first page; `seq` by default) are new to it.
    The reader must still be an active member: the event that would have closed their
    socket may be what the layer lost (ActionError "forbidden" otherwise).
    """
    if not Membership.objects.filter(room=room, user=reader, user__is_active=True).exists():
        raise not_a_member()
    gap_start = seq if gap_start is None else gap_start
    limit = charla_settings.RESUME_MAX
    page = list(
        Message.objects.filter(room=room, updated_seq__gt=seq)
        .select_related("author", "room")
        .order_by("updated_seq")[:limit]
    )
    cursor = page[-1].updated_seq if page else seq
    changed = sorted(page, key=lambda m: m.seq)
    frames = []
    for message in changed:
        if message.seq > gap_start:
            if not message.deleted:
                frames.append(events.message_sent(events.message_payload(message)))
        elif message.deleted:
            frames.append(events.message_deleted(message.pk, message.updated_seq))
        else:
            frames.append(events.message_edited(events.message_payload(message), message.updated_seq))
    return frames, cursor, len(page) < limit


def profile_of(user: AbstractBaseUser) -> Profile:
    """`user`'s settings; the defaults (unsaved) for someone who never changed them."""
    return Profile.objects.filter(user=user).first() or Profile(user=user)
