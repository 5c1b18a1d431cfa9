"""Rooms and members through charla.chat.services.rooms: create, open, invite, remove."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError

from charla.chat import selectors, services
from charla.chat.errors import ActionError, RoomNotFound
from charla.chat.models import Membership, Room
from tests.support.chat import listen, received
from tests.support.layer import listen as listen_to

# Rooms.


@pytest.mark.django_db
def test_creator_becomes_the_owner_of_a_new_room(ana):
    room = services.room_create(creator=ana, name="dev-ops", description="Deploys", is_private=True)
    membership = Membership.objects.get(room=room)
    assert membership.user == ana
    assert membership.role == Membership.Role.OWNER
    assert selectors.is_owner(room=room, user=ana)
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
    assert not selectors.is_member(room=secret, user=luis)


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
    assert selectors.is_member(room=secret, user=luis)


@pytest.mark.django_db
def test_non_owner_cannot_invite(ana, luis, make_user, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    carla = make_user("carla")
    with pytest.raises(ActionError) as excinfo:
        services.member_add(room=secret, actor=luis, user=carla)
    assert excinfo.value.code == "forbidden"
    assert not selectors.is_member(room=secret, user=carla)


@pytest.mark.django_db
def test_non_owner_cannot_remove_someone_else(ana, luis, make_user, secret):
    carla = make_user("carla")
    for user in (luis, carla):
        services.member_add(room=secret, actor=ana, user=user)
    with pytest.raises(ActionError) as excinfo:
        services.member_remove(room=secret, actor=luis, user=carla)
    assert excinfo.value.code == "forbidden"
    assert selectors.is_member(room=secret, user=carla)


@pytest.mark.django_db
def test_member_may_leave(ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    services.member_remove(room=secret, actor=luis, user=luis)
    assert not selectors.is_member(room=secret, user=luis)
    with pytest.raises(RoomNotFound):
        services.room_open(user=luis, name="secret")


@pytest.mark.django_db
def test_owner_removes_a_member(ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    services.member_remove(room=secret, actor=ana, user=luis)
    assert not selectors.is_member(room=secret, user=luis)


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ["ana", "luis"])
def test_owner_cannot_be_removed_not_even_by_themselves(ana, luis, secret, actor):
    services.member_add(room=secret, actor=ana, user=luis)
    with pytest.raises(ActionError) as excinfo:
        services.member_remove(room=secret, actor={"ana": ana, "luis": luis}[actor], user=ana)
    assert excinfo.value.code == "forbidden"
    assert selectors.is_owner(room=secret, user=ana)


@pytest.mark.django_db
def test_removal_tells_the_room_on_commit_so_the_users_sockets_close(
    ana, luis, secret, django_capture_on_commit_callbacks
):
    services.member_add(room=secret, actor=ana, user=luis)
    channel = listen(secret)
    layer = get_channel_layer()
    luis_pages = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"charla.notifications.user.{luis.pk}", luis_pages)
    with django_capture_on_commit_callbacks(execute=True):
        services.member_remove(room=secret, actor=ana, user=luis)
        assert received(channel, timeout=0.05) == [], "sent before the commit"
        assert received(luis_pages, timeout=0.05) == [], "sent before the commit"
    # Retained: the hub's link sends it again until Redis takes it (the database cannot replay it).
    assert received(channel) == [
        {"type": "room.member_removed", "user_id": luis.pk, "retain": True, "group": secret.group_name}
    ]
    assert received(luis_pages) == [
        {"type": "notify.rooms_changed", "group": f"charla.notifications.user.{luis.pk}"}
    ], "his pages stop watching the room"


@pytest.mark.django_db(transaction=True)
def test_creating_a_room_tells_the_creators_pages_to_follow_it(ana):
    pages = listen_to(f"charla.notifications.user.{ana.pk}")
    room = services.room_create(creator=ana, name="fresh")
    assert received(pages) == [{"type": "notify.rooms_changed", "group": f"charla.notifications.user.{ana.pk}"}], (
        "the new room's badges update live without a reload"
    )
    assert room.memberships.get().role == "owner"
