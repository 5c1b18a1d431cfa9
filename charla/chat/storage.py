"""The send path's storage statements: event numbers, the client_id lookups, and a batch's insert.

Callers hold the transaction (charla.chat.services.messages); these only read and write rows.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from charla.chat.errors import ActionError, message_not_found, not_a_member, unauthenticated
from charla.chat.models import Membership, Message, Room


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
# A request that passed the text checks: (its index in the caller's batch, the request, the cleaned text).
Fresh = tuple[int, SendRequest, str]


def next_seq(room_id: int, *, count: int = 1) -> int:
    """Take the room's next `count` event numbers and return the last; the row stays locked until commit."""
    if connection.features.can_return_columns_from_insert:  # RETURNING: PostgreSQL, SQLite >= 3.35
        with connection.cursor() as cursor:
            cursor.execute(_TAKE_SEQS, [count, room_id])
            return cursor.fetchone()[0]
    Room.objects.filter(pk=room_id).update(last_seq=F("last_seq") + count)
    return Room.objects.values_list("last_seq", flat=True).get(pk=room_id)


# One round trip instead of two, under the room's row lock.
_TAKE_SEQS = f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq"


def take_seqs(counts: dict[int, int]) -> dict[int, int]:
    """Take `count` event numbers in each room; returns each room's last. The rows stay locked until commit.

    Rooms are taken in id order, so two batches over the same rooms never deadlock
    (PostgreSQL does the same inside _STORE_BATCH).
    """
    return {room_id: next_seq(room_id, count=counts[room_id]) for room_id in sorted(counts)}


def store_checked(fresh: list[Fresh]) -> list[SendResult]:
    """Check authors, membership and client_ids, then number and insert the rest (inside the caller's transaction)."""
    authors, members = _authors_and_memberships([request for _i, request, _content in fresh])
    stored = stored_by_client_id([request for _i, request, _content in fresh])
    results: list[SendResult | None] = [None] * len(fresh)
    new: list[tuple[int, SendRequest, str]] = []
    for position, (_i, request, content) in enumerate(fresh):
        key = (request.author.pk, request.client_id)
        if authors.get(request.author.pk) != (True, request.author.password):
            results[position] = unauthenticated()
        elif (request.room.pk, request.author.pk) not in members:
            results[position] = not_a_member()
        elif request.client_id is not None and key in stored:
            results[position] = retried(existing=stored[key], room=request.room)
        else:
            new.append((position, request, content))
    by_room: dict[int, list[int]] = defaultdict(list)
    for n, (_position, request, _content) in enumerate(new):
        by_room[request.room.pk].append(n)
    seqs: dict[int, int] = {}
    last = take_seqs({room_id: len(ns) for room_id, ns in by_room.items()}) if new else {}
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


def store_postgresql(fresh: list[Fresh]) -> list[SendResult]:
    """store_checked in one statement (PostgreSQL): one round trip for the whole batch."""
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
    stored: list[int] = []
    for position, author_ok, member, was_stored, message_id, seq in rows:
        _i, request, content = fresh[position]
        if not author_ok:
            results[position] = unauthenticated()
        elif not member:
            results[position] = not_a_member()
        elif was_stored:
            stored.append(position)
        else:
            message = Message(
                id=message_id, room=request.room, author=request.author, content=content, sent=now,
                seq=seq, updated_seq=seq, client_id=request.client_id,
            )  # fmt: skip
            message._state.adding = False
            message._state.db = connection.alias
            results[position] = (message, True)
    if stored:
        found = stored_by_client_id([fresh[position][1] for position in stored])
        for position in stored:
            request = fresh[position][1]
            existing = found.get((request.author.pk, request.client_id))
            if existing is None:  # deleted since the statement saw it (only the admin deletes rows)
                results[position] = message_not_found()
            else:
                results[position] = retried(existing=existing, room=request.room)
    return results  # type: ignore[return-value]


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


def stored_by_client_id(requests: list[SendRequest]) -> dict[tuple[int, str], Message]:
    """The stored messages these requests' (author, client_id) pairs name: one query."""
    wanted = [(r.author.pk, r.client_id) for r in requests if r.client_id is not None]
    if not wanted:
        return {}
    query = Q()
    for author_id, client_id in wanted:
        query |= Q(author_id=author_id, client_id=client_id)
    found = Message.objects.select_related("author", "room").filter(query)
    return {(m.author_id, m.client_id): m for m in found}


def retried(*, existing: Message, room: Room) -> SendResult:
    """The answer to a retried send: its stored copy, unless the client_id was used in another room."""
    if existing.room_id != room.pk:
        return ActionError(_("This client_id was already used in another room."), "duplicate_client_id")
    return existing, False
