"""Messages through charla.chat.services.messages: send (alone or in a batch), edit, delete; broadcast on commit."""

import pytest
from django.db import transaction

from charla.chat import protocol, services
from charla.chat.errors import ActionError
from charla.chat.models import Message
from charla.chat.storage import SendRequest
from tests.support.chat import frames, last_seq, listen, received, send

# Sending.


@pytest.mark.django_db
def test_each_room_numbers_its_messages_independently(ana, lobby, secret):
    sent = []
    for room in (lobby, secret, lobby, lobby, secret):
        sent.append((room.name, send(room, ana, "hi").seq))
    assert [seq for name, seq in sent if name == "lobby"] == [1, 2, 3]
    assert [seq for name, seq in sent if name == "secret"] == [1, 2]
    assert last_seq(lobby) == 3 and last_seq(secret) == 2
    assert all(m.updated_seq == m.seq for m in Message.objects.all())


@pytest.mark.django_db
def test_message_content_is_stored_stripped(ana, lobby):
    message = send(lobby, ana, "  \n hola mundo \t ")
    assert Message.objects.get(pk=message.pk).content == "hola mundo"


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "code"), [("", "empty_message"), (" \n\t ", "empty_message")])
def test_empty_message_is_refused(ana, lobby, content, code):
    with pytest.raises(ActionError) as excinfo:
        services.message_send(room=lobby, author=ana, content=content)
    assert excinfo.value.code == code
    assert not Message.objects.exists() and last_seq(lobby) == 0


@pytest.mark.django_db
def test_message_longer_than_the_limit_is_refused(ana, lobby, settings):
    settings.CHARLA_MESSAGE_MAX_CHARS = 10
    with pytest.raises(ActionError) as excinfo:
        services.message_send(room=lobby, author=ana, content="x" * 11)
    assert excinfo.value.code == "message_too_long"
    assert "10" in excinfo.value.message
    assert send(lobby, ana, "  " + "x" * 10 + "  ").content == "x" * 10


@pytest.mark.django_db
def test_non_member_cannot_send(luis, lobby):
    with pytest.raises(ActionError) as excinfo:
        services.message_send(room=lobby, author=luis, content="hola")
    assert excinfo.value.code == "forbidden"
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_message_is_broadcast_only_once_its_transaction_commits(ana, lobby):
    during, after = listen(lobby), listen(lobby)
    with transaction.atomic():
        message = send(lobby, ana, "hola")
        assert received(during, timeout=0.05) == []
    events = received(after)
    assert len(events) == 1
    assert events[0]["seq"] == message.seq == 1
    assert frames(events) == [{"type": "mensaje", "mensaje": protocol.message_payload(message)}]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_message_is_never_broadcast(ana, lobby):
    channel = listen(lobby)
    with pytest.raises(RuntimeError), transaction.atomic():
        send(lobby, ana, "never happened")
        raise RuntimeError("rollback")
    send(lobby, ana, "kept")
    assert [frame["mensaje"]["contenido"] for frame in frames(received(channel))] == ["kept"]
    assert list(Message.objects.values_list("content", flat=True)) == ["kept"]


@pytest.mark.django_db
def test_retried_send_with_the_same_client_id_stores_one_message(ana, lobby, django_capture_on_commit_callbacks):
    channel = listen(lobby)
    with django_capture_on_commit_callbacks(execute=True):
        first, created_first = services.message_send(room=lobby, author=ana, content="hola", client_id="abc")
    with django_capture_on_commit_callbacks(execute=True):
        again, created_again = services.message_send(room=lobby, author=ana, content="hola", client_id="abc")
    assert (created_first, created_again) == (True, False)
    assert again.pk == first.pk
    assert Message.objects.count() == 1 and last_seq(lobby) == 1
    assert len(received(channel)) == 1


def test_a_batch_stores_each_send_in_room_order_and_refuses_only_the_bad_ones(
    ana, luis, lobby, secret, django_capture_on_commit_callbacks
):
    services.room_open(user=luis, name="lobby")
    lobby_channel, secret_channel = listen(lobby), listen(secret)
    requests = [
        SendRequest(lobby, ana, "one", "c-1"),
        SendRequest(secret, ana, "in secret"),
        SendRequest(secret, luis, "not a member"),
        SendRequest(lobby, luis, "two"),
        SendRequest(lobby, ana, "one again", "c-1"),  # a retry inside the batch
        SendRequest(lobby, ana, "   "),
        SendRequest(lobby, ana, "three"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        results = services.messages_send(requests)
    first, in_secret, refused, two, retried, empty, three = results
    assert isinstance(refused, ActionError) and refused.code == "forbidden"
    assert isinstance(empty, ActionError)
    assert retried == (first[0], False) and first[1] is True
    assert [m.seq for m, _ in (first, two, three)] == [1, 2, 3] and in_secret[0].seq == 1
    assert [f["mensaje"]["contenido"] for f in frames(received(lobby_channel))] == ["one", "two", "three"]
    assert [f["mensaje"]["contenido"] for f in frames(received(secret_channel))] == ["in secret"]
    assert last_seq(lobby) == 3 and Message.objects.count() == 4


def test_a_batch_returns_the_stored_copy_of_a_retry_and_stores_the_new_sends(
    ana, lobby, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        stored, _created = services.message_send(room=lobby, author=ana, content="hola", client_id="c-1")
    channel = listen(lobby)
    with django_capture_on_commit_callbacks(execute=True):
        retried, fresh = services.messages_send(
            [SendRequest(lobby, ana, "hola", "c-1"), SendRequest(lobby, ana, "nuevo", "c-2")]
        )
    assert retried == (stored, False) and retried[0].seq == 1
    assert fresh[1] is True and fresh[0].seq == 2 and fresh[0].content == "nuevo"
    fresh[0].content = "editado"
    fresh[0].save()  # the returned message is the stored row, not a copy to insert
    assert list(Message.objects.order_by("seq").values_list("content", flat=True)) == ["hola", "editado"]
    assert [f["mensaje"]["contenido"] for f in frames(received(channel))] == ["nuevo"], "a retry is not broadcast again"


@pytest.mark.django_db
def test_client_id_reused_in_another_room_is_refused(ana, lobby, secret):
    services.message_send(room=lobby, author=ana, content="hola", client_id="abc")
    with pytest.raises(ActionError) as excinfo:
        services.message_send(room=secret, author=ana, content="hola", client_id="abc")
    assert excinfo.value.code == "duplicate_client_id"
    assert not Message.objects.filter(room=secret).exists()


@pytest.mark.django_db
def test_two_authors_may_use_the_same_client_id(ana, luis, lobby):
    services.room_open(user=luis, name="lobby")
    mine, mine_created = services.message_send(room=lobby, author=ana, content="a", client_id="same")
    theirs, theirs_created = services.message_send(room=lobby, author=luis, content="b", client_id="same")
    assert mine_created and theirs_created
    assert mine.pk != theirs.pk
    assert sorted(Message.objects.values_list("content", flat=True)) == ["a", "b"]


@pytest.mark.django_db
def test_text_with_a_lone_surrogate_is_refused_as_an_action_error(ana, lobby):
    # A browser that cuts "🙂" in half (String.slice) sends "\ud83d" in JSON; it can't be stored as UTF-8.
    with pytest.raises(ActionError):
        services.message_send(room=lobby, author=ana, content="hola \ud83d")


# Editing and deleting.


@pytest.mark.django_db
def test_edit_changes_content_and_takes_the_next_room_event(ana, lobby, django_capture_on_commit_callbacks):
    first = send(lobby, ana, "frist")
    send(lobby, ana, "second")
    channel = listen(lobby)
    with django_capture_on_commit_callbacks(execute=True):
        edited = services.message_edit(room=lobby, user=ana, message_id=first.pk, content="  first ")
    stored = Message.objects.get(pk=first.pk)
    assert stored.content == "first"
    assert stored.edited and stored.edited_at is not None
    assert (stored.seq, stored.updated_seq, last_seq(lobby)) == (1, 3, 3)
    events = received(channel)
    assert [event["seq"] for event in events] == [3]
    assert frames(events) == [{"type": "mensaje_editado", "mensaje": protocol.message_payload(edited), "seq": 3}]
    assert frames(events)[0]["mensaje"]["contenido"] == "first"


@pytest.mark.django_db
def test_member_cannot_edit_someone_elses_message(ana, luis, lobby):
    services.room_open(user=luis, name="lobby")
    message = send(lobby, ana, "mine")
    with pytest.raises(ActionError) as excinfo:
        services.message_edit(room=lobby, user=luis, message_id=message.pk, content="hacked")
    assert excinfo.value.code == "forbidden"
    stored = Message.objects.get(pk=message.pk)
    assert stored.content == "mine" and not stored.edited and last_seq(lobby) == 1


@pytest.mark.django_db
def test_deleted_message_cannot_be_edited(ana, lobby):
    message = send(lobby, ana, "oops")
    services.message_delete(room=lobby, user=ana, message_id=message.pk)
    with pytest.raises(ActionError) as excinfo:
        services.message_edit(room=lobby, user=ana, message_id=message.pk, content="back")
    assert excinfo.value.code == "message_not_found"
    assert Message.objects.get(pk=message.pk).content == ""


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["edit", "delete"])
def test_message_of_another_room_or_unknown_id_is_not_found(ana, lobby, secret, action):
    elsewhere = send(secret, ana, "elsewhere")
    for message_id in (elsewhere.pk, elsewhere.pk + 1000, 2**70):
        with pytest.raises(ActionError) as excinfo:
            if action == "edit":
                services.message_edit(room=lobby, user=ana, message_id=message_id, content="x")
            else:
                services.message_delete(room=lobby, user=ana, message_id=message_id)
        assert excinfo.value.code == "message_not_found"
    stored = Message.objects.get(pk=elsewhere.pk)
    assert stored.content == "elsewhere" and not stored.deleted


@pytest.mark.django_db
def test_edit_to_empty_text_is_refused(ana, lobby):
    message = send(lobby, ana, "hola")
    with pytest.raises(ActionError) as excinfo:
        services.message_edit(room=lobby, user=ana, message_id=message.pk, content="   ")
    assert excinfo.value.code == "empty_message"
    assert Message.objects.get(pk=message.pk).content == "hola"


@pytest.mark.django_db
def test_author_deletes_own_message_leaving_an_empty_tombstone(ana, lobby, django_capture_on_commit_callbacks):
    message = send(lobby, ana, "secret plans")
    channel = listen(lobby)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_delete(room=lobby, user=ana, message_id=message.pk)
    stored = Message.objects.get(pk=message.pk)
    assert stored.deleted and stored.deleted_at is not None
    assert stored.content == ""
    assert (stored.updated_seq, last_seq(lobby)) == (2, 2)
    assert frames(received(channel)) == [{"type": "mensaje_eliminado", "id": message.pk, "seq": 2}]


@pytest.mark.django_db
def test_room_owner_may_delete_others_messages(ana, luis, lobby):
    services.room_open(user=luis, name="lobby")
    message = send(lobby, luis, "spam")
    services.message_delete(room=lobby, user=ana, message_id=message.pk)
    assert Message.objects.get(pk=message.pk).deleted


@pytest.mark.django_db
def test_member_cannot_delete_someone_elses_message(ana, luis, make_user, lobby):
    carla = make_user("carla")
    for user in (luis, carla):
        services.room_open(user=user, name="lobby")
    message = send(lobby, carla, "mine")
    with pytest.raises(ActionError) as excinfo:
        services.message_delete(room=lobby, user=luis, message_id=message.pk)
    assert excinfo.value.code == "forbidden"
    stored = Message.objects.get(pk=message.pk)
    assert not stored.deleted and stored.content == "mine" and last_seq(lobby) == 1


@pytest.mark.django_db
def test_non_member_cannot_edit_or_delete(ana, luis, lobby):
    message = send(lobby, ana, "hola")
    with pytest.raises(ActionError) as edit:
        services.message_edit(room=lobby, user=luis, message_id=message.pk, content="x")
    with pytest.raises(ActionError) as delete:
        services.message_delete(room=lobby, user=luis, message_id=message.pk)
    assert edit.value.code == delete.value.code == "forbidden"


@pytest.mark.django_db(transaction=True)
def test_a_batchs_messages_leave_in_one_publish_per_room_in_room_order(ana, lobby, secret, monkeypatch):
    """What is published together reaches each socket in one write: a batch must not leave message by message."""
    from charla.chat.storage import SendRequest
    from charla.realtime import publish

    published = []
    monkeypatch.setattr(publish, "publish_sync", lambda group, *messages: published.append((group, messages)))
    requests = [SendRequest(room, ana, f"m{i}") for i, room in enumerate((lobby, secret, lobby, lobby, secret))]
    services.messages_send(requests)
    rooms = [(group, [m["seq"] for m in messages]) for group, messages in published if group.startswith("charla.room")]
    assert rooms == [(lobby.group_name, [1, 2, 3]), (secret.group_name, [1, 2])]
