"""Every state change of the chat: validate, write, and broadcast once the transaction commits.

Views, consumers and management commands call these; none of them write to the
database or the channel layer themselves.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, Value
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import broadcast, protocol
from chat.models import Membership, Message, Room
from chat.validation import InvalidText, clean_message_text
from notifications import services as notification_services


class ActionError(Exception):
    """An action the user may not take, or that makes no sense; the message is for the user."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


# The error code of a write refused because the user may no longer act (password changed,
# deactivated, deleted): the socket closes after it.
UNAUTHENTICATED = "unauthenticated"


class RoomNotFound(ActionError):
    """The room does not exist, or the user may not know that it does."""

    def __init__(self):
        super().__init__(_("Room not found."), "room_not_found")


# Rooms and members.


def room_create(*, creator, name: str, description: str = "", is_private: bool = False) -> Room:
    """Create a room with its creator as owner; a name taken in any case is a validation error."""
    room = Room(name=name, description=description, creator=creator, is_private=is_private)
    # One answer for every taken name, public or private, in any case (the model's own
    # checks word an exact and a case-insensitive clash differently).
    room.full_clean(validate_unique=False, validate_constraints=False)
    taken = ValidationError({"name": ValidationError(_("A room with this name already exists."), code="taken")})
    if Room.objects.alias(lower_name=Lower("name")).filter(lower_name=Lower(Value(name))).exists():
        raise taken
    try:
        with transaction.atomic():
            room.save()
            Membership.objects.create(room=room, user=creator, role=Membership.Role.OWNER)
    except IntegrityError:
        raise taken from None
    return room


def room_open(*, user, name: str) -> Room:
    """The room `name` as `user` may open it: joins a public room, requires membership of a private one."""
    room = Room.objects.visible_to(user).filter(name=name).first()
    if room is None:
        raise RoomNotFound()
    if not room.is_private:
        _membership, joined = Membership.objects.get_or_create(room=room, user=user)
        if joined:
            notification_services.rooms_changed_on_commit(user.pk)
    return room


def is_member(*, room: Room, user) -> bool:
    return Membership.objects.filter(room=room, user=user).exists()


def is_owner(*, room: Room, user) -> bool:
    return Membership.objects.filter(room=room, user=user, role=Membership.Role.OWNER).exists()


def member_add(*, room: Room, actor, user) -> Membership:
    """Invite `user` into `room`; only its owners may."""
    if not is_owner(room=room, user=actor):
        raise ActionError(_("Only the room's owner can invite members."), "forbidden")
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(room=room, user=user)
        if created:
            notification_services.rooms_changed_on_commit(user.pk)
            notification_services.notify_user(
                user,
                _("You were added to #%(room)s") % {"room": room.name},
                _("%(user)s invited you.") % {"user": actor.get_username()},
                url=f"/rooms/{room.name}/",
            )
    return membership


def member_remove(*, room: Room, actor, user) -> None:
    """Remove `user` from `room` (its owners may remove others; anyone may leave); their sockets close."""
    if actor.pk != user.pk and not is_owner(room=room, user=actor):
        raise ActionError(_("Only the room's owner can remove members."), "forbidden")
    membership = Membership.objects.filter(room=room, user=user).first()
    if membership is None:
        return
    if membership.role == Membership.Role.OWNER:
        raise ActionError(_("The room's owner cannot be removed."), "forbidden")
    with transaction.atomic():
        membership.delete()
        transaction.on_commit(partial(broadcast.member_removed_sync, room.group_name, user.pk))
        notification_services.rooms_changed_on_commit(user.pk)


# Messages.


def _next_seq(room_id: int, count: int = 1) -> int:
    """Take the room's next `count` event numbers and return the last; the row stays locked until commit."""
    if connection.features.can_return_columns_from_insert:  # RETURNING: PostgreSQL, SQLite >= 3.35
        with connection.cursor() as cursor:
            cursor.execute(_TAKE_SEQS, [count, room_id])
            return cursor.fetchone()[0]
    Room.objects.filter(pk=room_id).update(last_seq=F("last_seq") + count)
    return Room.objects.values_list("last_seq", flat=True).get(pk=room_id)


# One round trip instead of two, under the room's row lock.
_TAKE_SEQS = f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq"


def _take_seqs(counts: dict[int, int]) -> dict[int, int]:
    """Take `count` event numbers in each room; returns each room's last. The rows stay locked until commit.

    Rooms are taken in id order, so two batches over the same rooms never deadlock
    (PostgreSQL does the same inside _STORE_BATCH).
    """
    return {room_id: _next_seq(room_id, counts[room_id]) for room_id in sorted(counts)}


def _require_member(room: Room, user) -> None:
    """Refuse a user who may no longer act as the caller authenticated them, or who is not a member (one query)."""
    member = Exists(Membership.objects.filter(room=room, user=OuterRef("pk")))
    found = get_user_model().objects.filter(pk=user.pk).annotate(member=member)
    row = found.values_list("is_active", "password", "member").first()
    if row is None or not row[0] or row[1] != user.password:
        raise _unauthenticated()
    if not row[2]:
        raise ActionError(_("You are not a member of this room."), "forbidden")


def _clean_content(content: str) -> str:
    try:
        return clean_message_text(content)
    except InvalidText as exc:
        raise ActionError(exc.message, exc.code) from None


@dataclass(frozen=True)
class SendRequest:
    """One message to store: who sends what where, with the client's id for retries.

    The author is refused unless still active and with the password hash it was loaded
    with (the socket's, at connect): a password change or a deactivation stops its sends
    even if the event that closes its sockets was lost.
    """

    room: Room
    author: Any
    content: str
    client_id: str | None = None


SendResult = tuple[Message, bool] | ActionError


def message_send(*, room: Room, author, content: str, client_id: str | None = None) -> tuple[Message, bool]:
    """Store a message and broadcast it on commit; with a known client_id, return the stored one instead.

    Returns (message, created). A retried send (same author and client_id) creates nothing.
    """
    (result,) = messages_send([SendRequest(room, author, content, client_id)])
    if isinstance(result, ActionError):
        raise result
    return result


def messages_send(requests: list[SendRequest]) -> list[SendResult]:
    """Store several messages in one transaction and broadcast each on commit, in room order.

    One commit for many messages is what makes a busy room fast: the database's flush at
    commit, under the room's row lock, costs more than the rest of a send. Each request
    gets its own result: (message, created), or the ActionError that refused it.
    """
    results: list[SendResult | None] = [None] * len(requests)
    fresh: list[tuple[int, SendRequest, str]] = []
    first_of: dict[tuple[int, str], int] = {}  # a retry inside the batch gets the first copy
    retries: list[tuple[int, int]] = []
    for i, request in enumerate(requests):
        try:
            content = _clean_content(request.content)
        except ActionError as exc:
            results[i] = exc
            continue
        key = (request.author.pk, request.client_id)
        if request.client_id is not None and key in first_of:
            retries.append((i, first_of[key]))
            continue
        if request.client_id is not None:
            first_of[key] = i
        fresh.append((i, request, content))
    try:
        for (i, _request, _content), result in zip(fresh, _store_and_announce(fresh), strict=True):
            results[i] = result
    except IntegrityError:
        # A client_id committed concurrently by another process: store one by one, so
        # that only the retried send finds its stored copy and the others are not lost.
        if len(fresh) == 1:
            i, request, _content = fresh[0]
            existing = _stored_by_client_id([request]).get((request.author.pk, request.client_id))
            if existing is None:
                raise
            results[i] = _retried(existing, request.room)
        else:
            for i, request, _content in fresh:
                results[i] = messages_send([request])[0]
    for i, first in retries:
        first_result = results[first]
        results[i] = first_result if isinstance(first_result, ActionError) else (first_result[0], False)
    return results  # type: ignore[return-value]


def _store_and_announce(fresh: list[tuple[int, SendRequest, str]]) -> list[SendResult]:
    """Store what may be stored, in one transaction, and announce each new message on commit."""
    if not fresh:
        return []
    if connection.vendor != "postgresql":
        with transaction.atomic():
            results = _store_checked(fresh)
            _announce([r[0] for r in results if not isinstance(r, ActionError) and r[1]])
        return results
    # PostgreSQL checks, numbers and inserts the batch in one statement; alone, it is its own
    # transaction. Mentions write notifications too, so then one transaction holds both.
    mentions = any(notification_services.mentioned_names(content) for _i, _request, content in fresh)
    with transaction.atomic() if mentions else nullcontext():
        results = _store_postgresql(fresh)
        _announce([r[0] for r in results if not isinstance(r, ActionError) and r[1]])
    return results


def _store_checked(fresh: list[tuple[int, SendRequest, str]]) -> list[SendResult]:
    """Check authors, membership and client_ids, then number and insert the rest (inside the caller's transaction)."""
    authors, members = _authors_and_memberships([request for _i, request, _content in fresh])
    stored = _stored_by_client_id([request for _i, request, _content in fresh])
    results: list[SendResult | None] = [None] * len(fresh)
    new: list[tuple[int, SendRequest, str]] = []
    for position, (_i, request, content) in enumerate(fresh):
        key = (request.author.pk, request.client_id)
        if authors.get(request.author.pk) != (True, request.author.password):
            results[position] = _unauthenticated()
        elif (request.room.pk, request.author.pk) not in members:
            results[position] = _not_a_member()
        elif request.client_id is not None and key in stored:
            results[position] = _retried(stored[key], request.room)
        else:
            new.append((position, request, content))
    by_room: dict[int, list[int]] = defaultdict(list)
    for n, (_position, request, _content) in enumerate(new):
        by_room[request.room.pk].append(n)
    seqs: dict[int, int] = {}
    last = _take_seqs({room_id: len(ns) for room_id, ns in by_room.items()}) if new else {}
    for room_id, ns in by_room.items():
        first = last[room_id] - len(ns) + 1
        for offset, n in enumerate(ns):
            seqs[n] = first + offset
    messages = [
        Message(room=r.room, author=r.author, content=c, seq=seqs[n], updated_seq=seqs[n], client_id=r.client_id)
        for n, (_position, r, c) in enumerate(new)
    ]
    Message.objects.bulk_create(messages)
    for (position, _request, _content), message in zip(new, messages, strict=True):
        results[position] = (message, True)
    return results  # type: ignore[return-value]


# The whole write of a batch in one round trip: who may post (an active author with the
# password hash the caller knows, and a member), which client_ids are already stored, the
# room counters (rows locked in id order, so two batches over the same rooms never
# deadlock) and the insert. Each request comes back with its verdicts and, if stored, its
# id and number.
_STORE_BATCH = f"""
    WITH req AS (
        SELECT * FROM unnest(
            %s::int[], %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::text[]
        ) AS r(idx, room_id, author_id, content, client_id, sent, password_digest)
    ), checked AS (
        SELECT req.*,
            COALESCE(author.is_active
                     AND encode(sha256(convert_to(author.password, 'UTF8')), 'hex') = req.password_digest,
                     false) AS author_ok,
            EXISTS (SELECT 1 FROM {Membership._meta.db_table} m
                    WHERE m.room_id = req.room_id AND m.user_id = req.author_id) AS member,
            req.client_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM {Message._meta.db_table} old
                WHERE old.author_id = req.author_id AND old.client_id = req.client_id) AS stored
        FROM req LEFT JOIN {get_user_model()._meta.db_table} author ON author.id = req.author_id
    ), wanted AS (
        SELECT room_id, count(*) AS n FROM checked WHERE author_ok AND member AND NOT stored GROUP BY room_id
    ), locked AS (
        SELECT id FROM {Room._meta.db_table} WHERE id IN (SELECT room_id FROM wanted) ORDER BY id FOR UPDATE
    ), counted AS (
        UPDATE {Room._meta.db_table} AS room SET last_seq = room.last_seq + wanted.n
        FROM locked, wanted WHERE room.id = locked.id AND room.id = wanted.room_id
        RETURNING room.id, room.last_seq, wanted.n
    ), numbered AS (
        SELECT checked.*, counted.last_seq - counted.n
            + row_number() OVER (PARTITION BY checked.room_id ORDER BY checked.idx) AS seq
        FROM checked JOIN counted ON counted.id = checked.room_id
        WHERE checked.author_ok AND checked.member AND NOT checked.stored
    ), inserted AS (
        INSERT INTO {Message._meta.db_table}
            (room_id, author_id, content, sent, edited, deleted, seq, updated_seq, client_id)
        SELECT room_id, author_id, content, sent, false, false, seq, seq, client_id FROM numbered
        RETURNING id, room_id, seq
    )
    SELECT checked.idx, checked.author_ok, checked.member, checked.stored, inserted.id, inserted.seq
    FROM checked
    LEFT JOIN numbered ON numbered.idx = checked.idx
    LEFT JOIN inserted ON inserted.room_id = numbered.room_id AND inserted.seq = numbered.seq
"""


def _store_postgresql(fresh: list[tuple[int, SendRequest, str]]) -> list[SendResult]:
    """_store_checked in one statement (PostgreSQL): one round trip for the whole batch."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_BATCH,
            [
                list(range(len(fresh))),
                [request.room.pk for _i, request, _content in fresh],
                [request.author.pk for _i, request, _content in fresh],
                [content for _i, _request, content in fresh],
                [request.client_id for _i, request, _content in fresh],
                [now] * len(fresh),
                # A digest, not the hash itself: statements' parameters may be logged (slow-query logs).
                [hashlib.sha256(request.author.password.encode()).hexdigest() for _i, request, _content in fresh],
            ],
        )
        rows = cursor.fetchall()
    results: list[SendResult | None] = [None] * len(fresh)
    retried: list[int] = []
    for position, author_ok, member, stored, message_id, seq in rows:
        _i, request, content = fresh[position]
        if not author_ok:
            results[position] = _unauthenticated()
        elif not member:
            results[position] = _not_a_member()
        elif stored:
            retried.append(position)
        else:
            message = Message(
                id=message_id, room=request.room, author=request.author, content=content, sent=now,
                seq=seq, updated_seq=seq, client_id=request.client_id,
            )  # fmt: skip
            message._state.adding = False
            message._state.db = connection.alias
            results[position] = (message, True)
    if retried:
        found = _stored_by_client_id([fresh[position][1] for position in retried])
        for position in retried:
            request = fresh[position][1]
            existing = found.get((request.author.pk, request.client_id))
            if existing is None:  # deleted since the statement saw it (only the admin deletes rows)
                results[position] = ActionError(_("Message not found."), "message_not_found")
            else:
                results[position] = _retried(existing, request.room)
    return results  # type: ignore[return-value]


def _not_a_member() -> ActionError:
    return ActionError(_("You are not a member of this room."), "forbidden")


def _unauthenticated() -> ActionError:
    return ActionError(_("Your session is no longer valid; log in again."), UNAUTHENTICATED)


def _authors_and_memberships(requests: list[SendRequest]) -> tuple[dict[int, tuple], set[tuple[int, int]]]:
    """Each author's (is_active, password), and the (room, user) pairs that are memberships: one query for a batch."""
    rooms = {r.room.pk for r in requests}
    users = {r.author.pk for r in requests}
    in_rooms = FilteredRelation("memberships", condition=Q(memberships__room_id__in=rooms))
    rows = (
        get_user_model()
        .objects.filter(pk__in=users)
        .annotate(in_rooms=in_rooms)
        .values_list("pk", "is_active", "password", "in_rooms__room_id")
    )
    authors, pairs = {}, set()
    for user_id, is_active, password, room_id in rows:
        authors[user_id] = (is_active, password)
        if room_id is not None:
            pairs.add((room_id, user_id))
    return authors, pairs


def _stored_by_client_id(requests: list[SendRequest]) -> dict[tuple[int, str], Message]:
    wanted = [(r.author.pk, r.client_id) for r in requests if r.client_id is not None]
    if not wanted:
        return {}
    query = Q()
    for author_id, client_id in wanted:
        query |= Q(author_id=author_id, client_id=client_id)
    found = Message.objects.select_related("author", "room").filter(query)
    return {(m.author_id, m.client_id): m for m in found}


def _retried(existing: Message, room: Room) -> SendResult:
    if existing.room_id != room.pk:
        return ActionError(_("This client_id was already used in another room."), "duplicate_client_id")
    return existing, False


def _announce(messages: list[Message]) -> None:
    """Broadcast the new messages on commit, each room's in order, with their mentions and room activity."""
    for message in sorted(messages, key=lambda m: (m.room_id, m.seq)):
        room = message.room
        _broadcast_on_commit(room, protocol.message_sent(protocol.message_payload(message)), message.seq)
        mentioned = notification_services.notify_mentions(message)
        notification_services.send_frame_on_commit(
            notification_services.room_group(room.pk),
            protocol.room_activity(room.name, message.seq, message.author.get_username(), mentioned),
        )


def message_edit(*, room: Room, user, message_id: int, content: str) -> Message:
    """Change the text of one's own message and broadcast the edit on commit."""
    _require_member(room, user)
    content = _clean_content(content)
    with transaction.atomic():
        message = _locked_message(room, message_id)
        if message.author_id != user.pk:
            raise ActionError(_("You can only edit your own messages."), "forbidden")
        seq = _next_seq(room.pk)
        message.content = content
        message.edited = True
        message.edited_at = timezone.now()
        message.updated_seq = seq
        message.save(update_fields=["content", "edited", "edited_at", "updated_seq"])
        _broadcast_on_commit(room, protocol.message_edited(protocol.message_payload(message), seq), seq)
    return message


def message_delete(*, room: Room, user, message_id: int, moderator: bool = False) -> Message:
    """Delete one's own message (or any, for the room's owner or a `moderator`) and broadcast it on commit.

    `moderator` is for staff in the admin, who need not be members: callers check the permission.
    """
    if not moderator:
        _require_member(room, user)
    with transaction.atomic():
        message = _locked_message(room, message_id)
        if not moderator and message.author_id != user.pk and not is_owner(room=room, user=user):
            raise ActionError(_("You can only delete your own messages."), "forbidden")
        seq = _next_seq(room.pk)
        message.deleted = True
        message.deleted_at = timezone.now()
        message.content = ""
        message.updated_seq = seq
        message.save(update_fields=["deleted", "deleted_at", "content", "updated_seq"])
        notification_services.withdraw_mentions(message)
        _broadcast_on_commit(room, protocol.message_deleted(message.pk, seq), seq)
    return message


def _locked_message(room: Room, message_id: int) -> Message:
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("author", "room")
        .filter(room=room, pk=message_id, deleted=False)
        .first()
    )
    if message is None:
        raise ActionError(_("Message not found."), "message_not_found")
    return message


def messages_announce_again(*, messages: list[Message]) -> None:
    """Broadcast stored messages again: a batch whose commit went through while its connection
    broke was never announced (sockets drop what they already have)."""
    for message in sorted(messages, key=lambda m: (m.room_id, m.seq)):
        frame = protocol.message_sent(protocol.message_payload(message))
        broadcast.send_room_frame_sync(message.room.group_name, frame, seq=message.seq)


def _broadcast_on_commit(room: Room, frame: dict, seq: int) -> None:
    transaction.on_commit(partial(broadcast.send_room_frame_sync, room.group_name, frame, seq=seq))


# The read cursor.


def room_mark_read(*, room: Room, user, seq: int | None = None) -> int:
    """Move the user's read cursor in `room` forward to `seq` (the room's latest by default).

    Returns the cursor before the move (the first unread message follows it). Mentions up
    to there are marked read too, and the user's other pages are told.
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
            mentions = notification_services.Notification.objects.for_user(user).unread()
            mentions = mentions.filter(room=room, chat_message__seq__lte=target)
            notification_services.mark_read(user, ids=list(mentions.values_list("pk", flat=True)))
            notification_services.send_frame_on_commit(
                notification_services.user_group(user.pk), protocol.room_read(room.name, target)
            )
    return before


# Reads.


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
        chosen = list(messages.changed_after(after)[: settings.CHARLA_RESUME_MAX + 1])
        limited = len(chosen) > settings.CHARLA_RESUME_MAX
    if limited or after is None:
        chosen = list(messages.visible().order_by("-seq")[: settings.CHARLA_HISTORY_SIZE])[::-1]
    cursor = max([seq, *(m.updated_seq for m in chosen)])
    return protocol.history([protocol.message_payload(m) for m in chosen], cursor, limited=limited)


def messages_before(*, room: Room, before_id: int | None, limit: int) -> tuple[list[Message], bool]:
    """Up to `limit` visible messages older than message `before_id` (or the newest), oldest first.

    Returns (messages, whether older ones exist).
    """
    messages = Message.objects.visible().filter(room=room).select_related("author", "room").order_by("-seq")
    if before_id is not None:
        anchor = Message.objects.filter(room=room, pk=before_id).values_list("seq", flat=True).first()
        if anchor is None:
            raise ActionError(_("Message not found."), "message_not_found")
        messages = messages.filter(seq__lt=anchor)
    page = list(messages[: limit + 1])
    return page[:limit][::-1], len(page) > limit


def events_after(*, room: Room, reader, seq: int, gap_start: int | None = None) -> tuple[list[dict], int, bool]:
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
        raise ActionError(_("You are not a member of this room."), "forbidden")
    gap_start = seq if gap_start is None else gap_start
    limit = settings.CHARLA_RESUME_MAX
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
                frames.append(protocol.message_sent(protocol.message_payload(message)))
        elif message.deleted:
            frames.append(protocol.message_deleted(message.pk, message.updated_seq))
        else:
            frames.append(protocol.message_edited(protocol.message_payload(message), message.updated_seq))
    return frames, cursor, len(page) < limit
