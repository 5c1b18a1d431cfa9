"""Rooms, memberships and messages: the named reads, the name rule and the constraints."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from charla.chat import protocol, services
from charla.chat.models import Membership, Message, Room, room_name_validator

pytestmark = pytest.mark.django_db


@pytest.fixture
def rooms(ana, luis):
    """ana owns a public and a private room; luis owns a private one."""
    return {
        "lobby": services.room_create(creator=ana, name="lobby"),
        "ana-secret": services.room_create(creator=ana, name="ana-secret", is_private=True),
        "luis-secret": services.room_create(creator=luis, name="luis-secret", is_private=True),
    }


def names(queryset) -> list[str]:
    return sorted(room.name for room in queryset)


def test_visible_rooms_are_public_ones_and_own_private_ones(rooms, ana, luis):
    assert names(Room.objects.visible_to(ana)) == ["ana-secret", "lobby"]
    assert names(Room.objects.visible_to(luis)) == ["lobby", "luis-secret"]


def test_anonymous_user_sees_no_rooms(rooms):
    assert list(Room.objects.visible_to(AnonymousUser())) == []


def test_invited_member_sees_the_private_room(rooms, ana, luis):
    services.member_add(room=rooms["ana-secret"], actor=ana, user=luis)
    assert names(Room.objects.visible_to(luis)) == ["ana-secret", "lobby", "luis-secret"]


def test_room_with_several_members_is_listed_once(rooms, ana, luis, make_user):
    for user in (luis, make_user("carla"), make_user("dani")):
        services.room_open(user=user, name="lobby")
        services.member_add(room=rooms["ana-secret"], actor=ana, user=user)
    assert Membership.objects.filter(room=rooms["lobby"]).count() == 4
    assert names(Room.objects.visible_to(ana)) == ["ana-secret", "lobby"]
    assert names(Room.objects.visible_to(luis)) == ["ana-secret", "lobby", "luis-secret"]


def test_joined_rooms_are_only_those_with_a_membership(rooms, ana, luis):
    assert names(Room.objects.joined_by(luis)) == ["luis-secret"]
    services.room_open(user=luis, name="lobby")
    assert names(Room.objects.joined_by(luis)) == ["lobby", "luis-secret"]
    assert names(Room.objects.joined_by(ana)) == ["ana-secret", "lobby"]


def test_public_rooms_exclude_every_private_room(rooms):
    assert names(Room.objects.public()) == ["lobby"]


@pytest.mark.parametrize("name", ["dev-ops_2", "general", "A", "x" * 50, "2024_Q1-retro"])
def test_room_name_of_ascii_letters_digits_hyphens_underscores_is_accepted(name, ana):
    room_name_validator(name)
    Room(name=name, creator=ana).full_clean()


@pytest.mark.parametrize(
    "name",
    ["a b", "ñandú", "café", "dev/ops", "dev.ops", "", "trailing\n", "emoji-🙂", "x" * 51, "<script>"],
)
def test_room_name_outside_the_ascii_slug_alphabet_is_rejected(name, ana):
    with pytest.raises(ValidationError) as excinfo:
        Room(name=name, creator=ana).full_clean()
    assert "name" in excinfo.value.message_dict


def test_group_name_differs_per_room(rooms):
    groups = {room.group_name for room in rooms.values()}
    assert len(groups) == 3


def test_message_to_dict_is_the_wire_payload(ana, rooms):
    message, _ = services.message_send(room=rooms["lobby"], author=ana, content="hola ñandú", client_id="c-1")
    stored = Message.objects.get(pk=message.pk)
    data = stored.to_dict()
    assert data == protocol.message_payload(stored)
    assert data["id"] == stored.pk
    assert data["autor"] == "ana"
    assert data["contenido"] == "hola ñandú"
    assert data["sala"] == "lobby"
    assert data["client_id"] == "c-1"


def test_two_messages_cannot_share_a_room_position(ana, rooms):
    room = rooms["lobby"]
    Message.objects.create(room=room, author=ana, content="first", seq=1, updated_seq=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(room=room, author=ana, content="second", seq=1, updated_seq=1)


def test_the_same_position_is_fine_in_another_room(ana, rooms):
    Message.objects.create(room=rooms["lobby"], author=ana, content="a", seq=1, updated_seq=1)
    Message.objects.create(room=rooms["ana-secret"], author=ana, content="b", seq=1, updated_seq=1)
    assert Message.objects.filter(seq=1).count() == 2


def test_visible_messages_exclude_deleted_ones(ana, rooms):
    room = rooms["lobby"]
    kept, _ = services.message_send(room=room, author=ana, content="kept")
    gone, _ = services.message_send(room=room, author=ana, content="gone")
    services.message_delete(room=room, user=ana, message_id=gone.pk)
    assert list(Message.objects.filter(room=room).visible()) == [kept]
