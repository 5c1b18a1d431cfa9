"""charla.chat.hooks: fired inside the write's transaction, and nothing in chat depends on who listens."""

from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from charla.chat import hooks, selectors, services
from charla.chat.models import Membership, Message, Room
from charla.notifications import receivers
from charla.notifications.models import Notification
from tests.support.chat import frames, listen, received

WRITE_HOOKS = (hooks.message_stored, hooks.message_deleted, hooks.room_read, hooks.membership_changed)
NOTIFICATIONS_RECEIVERS = {
    hooks.message_stored: receivers.message_stored,
    hooks.message_deleted: receivers.message_deleted,
    hooks.room_read: receivers.room_read,
    hooks.membership_changed: receivers.membership_changed,
    hooks.room_badges: receivers.room_badges,
}


@contextmanager
def heard(hook, check=lambda **kwargs: None):
    """Record each sending of `hook` as (its arguments, whether a transaction was open, what `check` saw)."""
    calls = []

    def receiver(sender, **kwargs):
        kwargs.pop("signal")
        calls.append((kwargs, connection.in_atomic_block, check(**kwargs)))

    hook.connect(receiver, weak=False)
    try:
        yield calls
    finally:
        hook.disconnect(receiver)


@contextmanager
def notifications_disconnected():
    for hook, receiver in NOTIFICATIONS_RECEIVERS.items():
        assert hook.disconnect(receiver, dispatch_uid=f"notifications.{receiver.__name__}"), receiver
    try:
        yield
    finally:
        for hook, receiver in NOTIFICATIONS_RECEIVERS.items():
            hook.connect(receiver, dispatch_uid=f"notifications.{receiver.__name__}")


@pytest.mark.django_db(transaction=True)
def test_message_stored_fires_inside_the_transaction_and_its_receiver_sees_the_row(ana, luis, lobby):
    services.room_open(user=luis, name="lobby")
    with heard(hooks.message_stored, lambda message: Message.objects.filter(pk=message.pk).exists()) as calls:
        message, _created = services.message_send(room=lobby, author=ana, content="@luis hola")
    assert [(kwargs["message"].pk, in_transaction, saw_row) for kwargs, in_transaction, saw_row in calls] == [
        (message.pk, True, True)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_send_delivers_nothing_from_its_hooks(ana, luis, lobby):
    services.room_open(user=luis, name="lobby")
    room_pages, luis_pages = listen_to_notifications(lobby, luis)
    delivered = []
    with heard(hooks.message_stored, lambda message: transaction.on_commit(lambda: delivered.append(message))):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.message_send(room=lobby, author=ana, content="@luis never happened")
            raise RuntimeError("rollback")
    assert delivered == []
    assert not Notification.objects.exists(), "the mention was rolled back with its message"
    assert received(room_pages, timeout=0.1) == [] and received(luis_pages, timeout=0.1) == []


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_fails_rolls_the_write_back(ana, lobby):
    def failing(sender, **kwargs):
        raise RuntimeError("receiver failed")

    hooks.message_stored.connect(failing, weak=False)
    try:
        with pytest.raises(RuntimeError):
            services.message_send(room=lobby, author=ana, content="hola @luis")
    finally:
        hooks.message_stored.disconnect(failing)
    assert not Message.objects.exists() and Room.objects.get(pk=lobby.pk).last_seq == 0


@pytest.mark.django_db(transaction=True)
def test_a_message_without_mentions_is_heard_by_message_stored_once_it_is_stored(ana, lobby):
    """On PostgreSQL such a batch is one self-committing statement (charla.chat.hooks says why); its
    receivers still run."""
    with heard(hooks.message_stored, lambda message: Message.objects.filter(pk=message.pk).exists()) as calls:
        message, _created = services.message_send(room=lobby, author=ana, content="no mention here")
    assert [(kwargs["message"].pk, saw_row) for kwargs, _in_transaction, saw_row in calls] == [(message.pk, True)]


@pytest.mark.django_db(transaction=True)
def test_deleting_reading_and_membership_fire_their_hooks_inside_the_transaction(ana, luis, lobby):
    secret = services.room_create(creator=ana, name="secret", is_private=True)
    message, _created = services.message_send(room=lobby, author=ana, content="hola")
    with heard(hooks.membership_changed, lambda room, user, **kw: selectors.is_member(room=room, user=user)) as joins:
        services.room_open(user=luis, name="lobby")
        services.room_open(user=luis, name="lobby")  # already a member: nothing changes
        services.member_add(room=secret, actor=ana, user=luis)
        services.member_remove(room=secret, actor=luis, user=luis)
    assert [(kw["room"], kw["user"], kw["actor"], kw["joined"], inside, member) for kw, inside, member in joins] == [
        (lobby, luis, luis, True, True, True),
        (secret, luis, ana, True, True, True),
        (secret, luis, luis, False, True, False),
    ]
    cursor = lambda room, user, seq: Membership.objects.get(room=room, user=user).last_read_seq  # noqa: E731
    with heard(hooks.room_read, cursor) as reads:
        services.room_mark_read(room=lobby, user=luis)
        services.room_mark_read(room=lobby, user=luis)  # nothing new: no hook
    assert [(kw["room"], kw["user"], kw["seq"], inside, seen) for kw, inside, seen in reads] == [
        (lobby, luis, 1, True, 1)
    ]
    with heard(hooks.message_deleted, lambda message: Message.objects.get(pk=message.pk).deleted) as deletions:
        services.message_delete(room=lobby, user=ana, message_id=message.pk)
    assert [(kw["message"].pk, inside, deleted) for kw, inside, deleted in deletions] == [(message.pk, True, True)]


@pytest.mark.django_db(transaction=True)
def test_chat_works_with_the_notifications_receivers_disconnected(ana, luis, client):
    with notifications_disconnected():
        lobby = services.room_create(creator=ana, name="lobby")
        secret = services.room_create(creator=ana, name="secret", is_private=True)
        services.room_open(user=luis, name="lobby")
        services.member_add(room=secret, actor=ana, user=luis)
        channel = listen(lobby)
        message, _created = services.message_send(room=lobby, author=ana, content="@luis @room hola")
        services.message_edit(room=lobby, user=ana, message_id=message.pk, content="@luis editado")
        services.room_mark_read(room=lobby, user=luis)
        services.message_delete(room=lobby, user=ana, message_id=message.pk)
        services.member_remove(room=secret, actor=ana, user=luis)
        assert [f["type"] for f in frames(received(channel))] == ["mensaje", "mensaje_editado", "mensaje_eliminado"]
        assert Membership.objects.get(room=lobby, user=luis).last_read_seq == 2
        rooms = Room.objects.joined_by(luis).with_unread(luis)
        assert [(room.name, room.unread) for room in rooms] == [("lobby", 0)]
        client.force_login(luis)
        assert client.get("/").status_code == 200
        assert client.get("/rooms/lobby/").status_code == 200
    assert not Notification.objects.exists(), "nobody listened: no mention, no 'you were added'"


def listen_to_notifications(room, user) -> tuple[str, str]:
    """Channels in the room's and the user's notifications groups, as their notification sockets' would be."""
    from tests.support.layer import listen as listen_to

    return listen_to(f"charla.notifications.room.{room.pk}"), listen_to(f"charla.notifications.user.{user.pk}")
