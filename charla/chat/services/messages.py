"""Messages: send (one or a batch), edit, delete, and announce again; each broadcast once the transaction commits."""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from charla.chat import broadcast, events, hooks, storage
from charla.chat.errors import ActionError, message_not_found
from charla.chat.mentions import mentioned_names
from charla.chat.models import Message, Room
from charla.chat.selectors import is_owner, require_member
from charla.chat.storage import Fresh, SendRequest, SendResult
from charla.chat.validation import InvalidText, clean_message_text


def _clean_content(content: str) -> str:
    try:
        return clean_message_text(content)
    except InvalidText as exc:
        raise ActionError(exc.message, exc.code) from None


def message_send(
    *, room: Room, author: AbstractBaseUser, content: str, client_id: str | None = None
) -> tuple[Message, bool]:
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
    fresh: list[Fresh] = []
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
            existing = storage.stored_by_client_id([request]).get((request.author.pk, request.client_id))
            if existing is None:
                raise
            results[i] = storage.retried(existing=existing, room=request.room)
        else:
            for i, request, _content in fresh:
                results[i] = messages_send([request])[0]
    for i, first in retries:
        first_result = results[first]
        results[i] = first_result if isinstance(first_result, ActionError) else (first_result[0], False)
    return results  # type: ignore[return-value]


def _store_and_announce(fresh: list[Fresh]) -> list[SendResult]:
    """Store what may be stored, in one transaction, and announce each new message on commit.

    On PostgreSQL a batch is one statement, a transaction of its own: wrapping it in another
    costs two more round trips (BEGIN, COMMIT), a third of the stored messages per second
    (make bench, store-postgres: 2,375 against 1,649). Only a message with @mentions makes
    message_stored's receivers write (charla.chat.hooks), so only a batch with one is wrapped.
    """
    if not fresh:
        return []
    if connection.vendor != "postgresql":
        store, one_transaction = storage.store_checked, True
    else:
        store = storage.store_postgresql
        one_transaction = any(mentioned_names(content) for _i, _request, content in fresh)
    with transaction.atomic() if one_transaction else nullcontext():
        results = store(fresh)
        _announce([r[0] for r in results if not isinstance(r, ActionError) and r[1]])
    return results


def _announce(messages: list[Message]) -> None:
    """Broadcast the new messages on commit, each room's together and in order, and tell the hook's receivers of each.

    A room's messages leave in one publish, so each socket gets them in one write: the hub
    bundles what is published together, and a batch's messages would otherwise reach it one
    by one from the database thread.
    """
    messages = sorted(messages, key=lambda m: (m.room_id, m.seq))
    by_room: dict[int, list[Message]] = {}
    for message in messages:
        by_room.setdefault(message.room_id, []).append(message)
    for room_messages in by_room.values():
        numbered = [(events.message_sent(events.message_payload(m)), m.seq) for m in room_messages]
        transaction.on_commit(partial(broadcast.send_room_frames_sync, room_messages[0].room.group_name, numbered))
    for message in messages:
        hooks.message_stored.send(Message, message=message)


def message_edit(*, room: Room, user: AbstractBaseUser, message_id: int, content: str) -> Message:
    """Change the text of one's own message and broadcast the edit on commit."""
    require_member(room=room, user=user)
    content = _clean_content(content)
    with transaction.atomic():
        message = _locked_message(room, message_id)
        if message.author_id != user.pk:
            raise ActionError(_("You can only edit your own messages."), "forbidden")
        seq = storage.next_seq(room.pk)
        message.content = content
        message.edited = True
        message.edited_at = timezone.now()
        message.updated_seq = seq
        message.save(update_fields=["content", "edited", "edited_at", "updated_seq"])
        _broadcast_on_commit(room, events.message_edited(events.message_payload(message), seq), seq)
    return message


def message_delete(*, room: Room, user: AbstractBaseUser, message_id: int, moderator: bool = False) -> Message:
    """Delete one's own message (or any, for the room's owner or a `moderator`) and broadcast it on commit.

    `moderator` is for staff in the admin, who need not be members: callers check the permission.
    """
    if not moderator:
        require_member(room=room, user=user)
    with transaction.atomic():
        message = _locked_message(room, message_id)
        if not moderator and message.author_id != user.pk and not is_owner(room=room, user=user):
            raise ActionError(_("You can only delete your own messages."), "forbidden")
        seq = storage.next_seq(room.pk)
        message.deleted = True
        message.deleted_at = timezone.now()
        message.content = ""
        message.updated_seq = seq
        message.save(update_fields=["deleted", "deleted_at", "content", "updated_seq"])
        hooks.message_deleted.send(Message, message=message)
        _broadcast_on_commit(room, events.message_deleted(message.pk, seq), seq)
    return message


def _locked_message(room: Room, message_id: int) -> Message:
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("author", "room")
        .filter(room=room, pk=message_id, deleted=False)
        .first()
    )
    if message is None:
        raise message_not_found()
    return message


def messages_announce_again(*, messages: list[Message]) -> None:
    """Broadcast stored messages again: a batch whose commit went through while its connection
    broke was never announced (sockets drop what they already have)."""
    for message in sorted(messages, key=lambda m: (m.room_id, m.seq)):
        frame = events.message_sent(events.message_payload(message))
        broadcast.send_room_frame_sync(message.room.group_name, frame, seq=message.seq)


def _broadcast_on_commit(room: Room, frame: dict, seq: int) -> None:
    transaction.on_commit(partial(broadcast.send_room_frame_sync, room.group_name, frame, seq=seq))
