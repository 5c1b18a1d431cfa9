"""Every state change and read of the chat, through the services the transports call."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import transaction

from chat import protocol, services
from chat.models import Membership, Message, Room
from chat.services import ActionError, RoomNotFound
from tests.layerutil import drain
from tests.layerutil import listen as listen_to


@pytest.fixture
def lobby(ana):
    return services.room_create(creator=ana, name="lobby")


@pytest.fixture
def secret(ana):
    return services.room_create(creator=ana, name="secret", is_private=True)


def listen(room) -> str:
    """A channel in the room's group, as an open socket's would be."""
    return listen_to(room.group_name)


def received(channel: str, timeout: float = 0.2) -> list[dict]:
    """Every channel-layer event the channel got so far (waiting `timeout` for stragglers)."""
    return drain(channel, timeout)


def frames(events: list[dict]) -> list[dict]:
    return [json.loads(event["text"]) for event in events]


def send(room, author, content, **kwargs) -> Message:
    message, created = services.message_send(room=room, author=author, content=content, **kwargs)
    assert created
    return message


def last_seq(room) -> int:
    return Room.objects.get(pk=room.pk).last_seq


# Rooms.


@pytest.mark.django_db
def test_creator_becomes_the_owner_of_a_new_room(ana):
    room = services.room_create(creator=ana, name="dev-ops", description="Deploys", is_private=True)
    membership = Membership.objects.get(room=room)
    assert membership.user == ana
    assert membership.role == Membership.Role.OWNER
    assert services.is_owner(room=room, user=ana)
    assert room.is_private and room.description == "Deploys" and room.creator == ana


@pytest.mark.django_db
def test_taken_room_name_gets_the_same_error_whether_the_room_is_public_or_private(ana, luis, lobby, secret):
    errors = []
    for name in ("lobby", "secret"):
        with pytest.raises(ValidationError) as excinfo:
            services.room_create(creator=luis, name=name)
        errors.append(excinfo.value.message_dict)
    assert list(errors[0]) == ["name"]
    assert errors[0] == errors[1]
    assert "secret" not in str(errors[1]["name"])
    assert not Room.objects.joined_by(luis).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["a b", "ñ", "", "dev/ops"])
def test_invalid_room_name_is_a_validation_error_and_creates_nothing(ana, name):
    with pytest.raises(ValidationError) as excinfo:
        services.room_create(creator=ana, name=name)
    assert "name" in excinfo.value.message_dict
    assert not Room.objects.exists()
    assert not Membership.objects.exists()


@pytest.mark.django_db
def test_opening_a_public_room_joins_it_once(luis, lobby):
    for _ in range(2):
        assert services.room_open(user=luis, name="lobby") == lobby
    membership = Membership.objects.get(room=lobby, user=luis)
    assert membership.role == Membership.Role.MEMBER


@pytest.mark.django_db
def test_non_member_cannot_open_private_room(luis, secret):
    with pytest.raises(RoomNotFound) as excinfo:
        services.room_open(user=luis, name="secret")
    assert excinfo.value.code == "room_not_found"
    assert not services.is_member(room=secret, user=luis)


@pytest.mark.django_db
def test_unknown_room_and_hidden_private_room_look_the_same(luis, secret):
    with pytest.raises(RoomNotFound) as hidden:
        services.room_open(user=luis, name="secret")
    with pytest.raises(RoomNotFound) as missing:
        services.room_open(user=luis, name="nowhere")
    assert hidden.value.message == missing.value.message


@pytest.mark.django_db
def test_member_can_open_private_room(ana, luis, secret):
    assert services.room_open(user=ana, name="secret") == secret
    services.member_add(room=secret, actor=ana, user=luis)
    assert services.room_open(user=luis, name="secret") == secret


# Members.


@pytest.mark.django_db
def test_owner_invites_a_member(ana, luis, secret):
    membership = services.member_add(room=secret, actor=ana, user=luis)
    assert membership.role == Membership.Role.MEMBER
    assert services.is_member(room=secret, user=luis)


@pytest.mark.django_db
def test_non_owner_cannot_invite(ana, luis, make_user, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    carla = make_user("carla")
    with pytest.raises(ActionError) as excinfo:
        services.member_add(room=secret, actor=luis, user=carla)
    assert excinfo.value.code == "forbidden"
    assert not services.is_member(room=secret, user=carla)


@pytest.mark.django_db
def test_non_owner_cannot_remove_someone_else(ana, luis, make_user, secret):
    carla = make_user("carla")
    for user in (luis, carla):
        services.member_add(room=secret, actor=ana, user=user)
    with pytest.raises(ActionError) as excinfo:
        services.member_remove(room=secret, actor=luis, user=carla)
    assert excinfo.value.code == "forbidden"
    assert services.is_member(room=secret, user=carla)


@pytest.mark.django_db
def test_member_may_leave(ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    services.member_remove(room=secret, actor=luis, user=luis)
    assert not services.is_member(room=secret, user=luis)
    with pytest.raises(RoomNotFound):
        services.room_open(user=luis, name="secret")


@pytest.mark.django_db
def test_owner_removes_a_member(ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    services.member_remove(room=secret, actor=ana, user=luis)
    assert not services.is_member(room=secret, user=luis)


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ["ana", "luis"])
def test_owner_cannot_be_removed_not_even_by_themselves(ana, luis, secret, actor):
    services.member_add(room=secret, actor=ana, user=luis)
    with pytest.raises(ActionError) as excinfo:
        services.member_remove(room=secret, actor={"ana": ana, "luis": luis}[actor], user=ana)
    assert excinfo.value.code == "forbidden"
    assert services.is_owner(room=secret, user=ana)


@pytest.mark.django_db
def test_removal_tells_the_room_on_commit_so_the_users_sockets_close(
    ana, luis, secret, django_capture_on_commit_callbacks
):
    services.member_add(room=secret, actor=ana, user=luis)
    channel = listen(secret)
    layer = get_channel_layer()
    luis_pages = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"notifications.user.{luis.pk}", luis_pages)
    with django_capture_on_commit_callbacks(execute=True):
        services.member_remove(room=secret, actor=ana, user=luis)
        assert received(channel, timeout=0.05) == [], "sent before the commit"
        assert received(luis_pages, timeout=0.05) == [], "sent before the commit"
    # Retained: the hub's link sends it again until Redis takes it (the database cannot replay it).
    assert received(channel) == [
        {"type": "room.member_removed", "user_id": luis.pk, "retain": True, "group": secret.group_name}
    ]
    assert received(luis_pages) == [{"type": "notify.rooms_changed", "group": f"notifications.user.{luis.pk}"}], (
        "his pages stop watching the room"
    )


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
        services.SendRequest(lobby, ana, "one", "c-1"),
        services.SendRequest(secret, ana, "in secret"),
        services.SendRequest(secret, luis, "not a member"),
        services.SendRequest(lobby, luis, "two"),
        services.SendRequest(lobby, ana, "one again", "c-1"),  # a retry inside the batch
        services.SendRequest(lobby, ana, "   "),
        services.SendRequest(lobby, ana, "three"),
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
            [services.SendRequest(lobby, ana, "hola", "c-1"), services.SendRequest(lobby, ana, "nuevo", "c-2")]
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


# History on connect and resume.


def contents(history: dict) -> list[str]:
    return [m["contenido"] for m in history["mensajes"]]


@pytest.mark.django_db
def test_history_is_the_latest_visible_messages_oldest_first(ana, lobby, settings):
    settings.CHARLA_HISTORY_SIZE = 3
    sent = [send(lobby, ana, f"m{i}") for i in range(1, 6)]
    services.message_delete(room=lobby, user=ana, message_id=sent[-1].pk)
    history = services.room_history(room=lobby)
    assert history["type"] == "historial"
    assert contents(history) == ["m2", "m3", "m4"]
    assert history["seq"] == last_seq(lobby) == 6
    assert history["limited"] is False


@pytest.mark.django_db
def test_history_of_an_empty_room_is_empty_at_event_zero(lobby):
    assert services.room_history(room=lobby) == protocol.history([], 0, limited=False)


@pytest.mark.django_db
def test_resume_sends_only_what_changed_including_tombstones(ana, lobby):
    m1, m2, _m3 = (send(lobby, ana, text) for text in ("one", "two", "three"))
    services.message_edit(room=lobby, user=ana, message_id=m1.pk, content="uno")
    services.message_delete(room=lobby, user=ana, message_id=m2.pk)
    m4 = send(lobby, ana, "four")
    history = services.room_history(room=lobby, after=3)
    assert [(m["id"], m["contenido"], m["editado"], m["eliminado"]) for m in history["mensajes"]] == [
        (m1.pk, "uno", True, False),
        (m2.pk, "", False, True),
        (m4.pk, "four", False, False),
    ]
    assert history["seq"] == last_seq(lobby) == 6
    assert history["limited"] is False


@pytest.mark.django_db
def test_resume_when_up_to_date_sends_nothing(ana, lobby):
    send(lobby, ana, "hola")
    assert services.room_history(room=lobby, after=1) == protocol.history([], 1, limited=False)


@pytest.mark.django_db
def test_resume_ahead_of_the_room_sends_the_latest_and_says_limited(ana, lobby):
    for text in ("a", "b"):
        send(lobby, ana, text)
    history = services.room_history(room=lobby, after=10**9)
    assert contents(history) == ["a", "b"]
    assert history["limited"] is True
    assert history["seq"] == last_seq(lobby) == 2


@pytest.mark.django_db
def test_resume_with_too_much_missed_sends_the_latest_and_says_limited(ana, lobby, settings):
    settings.CHARLA_RESUME_MAX = 3
    settings.CHARLA_HISTORY_SIZE = 2
    for i in range(1, 6):
        send(lobby, ana, f"m{i}")
    history = services.room_history(room=lobby, after=1)
    assert contents(history) == ["m4", "m5"]
    assert history["limited"] is True
    assert history["seq"] == last_seq(lobby) == 5
    within = services.room_history(room=lobby, after=2)
    assert contents(within) == ["m3", "m4", "m5"] and within["limited"] is False


# Filling a gap in the live stream.


@pytest.mark.django_db
def test_gap_is_filled_with_the_current_state_of_each_changed_message(ana, lobby):
    m1, m2, _m3 = (send(lobby, ana, text) for text in ("one", "two", "three"))
    cursor = last_seq(lobby)
    services.message_edit(room=lobby, user=ana, message_id=m1.pk, content="uno")  # 4
    services.message_delete(room=lobby, user=ana, message_id=m2.pk)  # 5
    m4 = send(lobby, ana, "four")  # 6
    m5 = send(lobby, ana, "five")  # 7
    services.message_delete(room=lobby, user=ana, message_id=m5.pk)  # 8
    m6 = send(lobby, ana, "six")  # 9

    missed, new_cursor, caught_up = services.events_after(room=lobby, reader=ana, seq=cursor)

    stored = {m.pk: m for m in Message.objects.select_related("author", "room")}
    assert missed == [
        protocol.message_edited(protocol.message_payload(stored[m1.pk]), 4),
        protocol.message_deleted(m2.pk, 5),
        protocol.message_sent(protocol.message_payload(stored[m4.pk])),
        protocol.message_sent(protocol.message_payload(stored[m6.pk])),
    ]
    assert missed[0]["mensaje"]["contenido"] == "uno"
    assert new_cursor == last_seq(lobby) == 9 and caught_up


@pytest.mark.django_db
def test_no_gap_means_no_frames_and_the_same_cursor(ana, lobby):
    send(lobby, ana, "hola")
    assert services.events_after(room=lobby, reader=ana, seq=1) == ([], 1, True)


@pytest.mark.django_db
def test_filling_a_large_gap_in_pages_never_skips_a_message(ana, lobby, settings):
    settings.CHARLA_RESUME_MAX = 2
    m1 = send(lobby, ana, "one")  # 1
    send(lobby, ana, "two")  # 2
    m3 = send(lobby, ana, "three")  # 3
    services.message_edit(room=lobby, user=ana, message_id=m1.pk, content="uno")  # 4
    delivered, cursor, caught_up, pages = [], 0, False, 0
    while not caught_up and pages < 10:
        missed, cursor, caught_up = services.events_after(room=lobby, reader=ana, seq=cursor, gap_start=0)
        delivered += [frame["mensaje"]["id"] for frame in missed if frame["type"] == "mensaje"]
        pages += 1
    assert sorted(delivered) == sorted(m.pk for m in Message.objects.all())
    assert m3.pk in delivered and cursor == last_seq(lobby)


# Scroll-back.


@pytest.mark.django_db
def test_scroll_back_pages_by_message_id_oldest_first(ana, lobby):
    sent = [send(lobby, ana, f"m{i}") for i in range(1, 6)]

    def page(before_id):
        messages, more = services.messages_before(room=lobby, before_id=before_id, limit=2)
        return [m.content for m in messages], more

    assert page(None) == (["m4", "m5"], True)
    assert page(sent[3].pk) == (["m2", "m3"], True)
    assert page(sent[1].pk) == (["m1"], False)
    assert page(sent[0].pk) == ([], False)


@pytest.mark.django_db
def test_scroll_back_skips_deleted_messages(ana, lobby):
    sent = [send(lobby, ana, f"m{i}") for i in range(1, 5)]
    services.message_delete(room=lobby, user=ana, message_id=sent[1].pk)
    messages, more = services.messages_before(room=lobby, before_id=sent[3].pk, limit=5)
    assert [m.content for m in messages] == ["m1", "m3"]
    assert more is False


@pytest.mark.django_db
def test_scroll_back_from_an_unknown_or_foreign_message_is_an_error(ana, lobby, secret):
    send(lobby, ana, "here")
    elsewhere = send(secret, ana, "elsewhere")
    for before_id in (elsewhere.pk, elsewhere.pk + 1000):
        with pytest.raises(ActionError) as excinfo:
            services.messages_before(room=lobby, before_id=before_id, limit=10)
        assert excinfo.value.code == "message_not_found"


@pytest.mark.django_db
def test_a_gap_is_not_filled_for_a_reader_who_lost_access_while_the_event_saying_so_was_lost(ana, luis):
    secret = services.room_create(creator=ana, name="secret", is_private=True)
    services.member_add(room=secret, actor=ana, user=luis)
    services.member_remove(room=secret, actor=ana, user=luis)
    send(secret, ana, "after luis left")
    with pytest.raises(services.ActionError) as refused:
        services.events_after(room=secret, reader=luis, seq=0)
    assert refused.value.code == "forbidden"
    luis.is_active = False
    luis.save()
    lobby = services.room_create(creator=ana, name="open-room")
    services.room_open(user=luis, name="open-room")
    with pytest.raises(services.ActionError):
        services.events_after(room=lobby, reader=luis, seq=0)
