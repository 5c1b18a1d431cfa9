"""Rooms and their members: create, open (joining a public room), invite, remove."""

from __future__ import annotations

from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from charla.chat import broadcast, hooks
from charla.chat.errors import ActionError, RoomNotFound
from charla.chat.models import Membership, Room
from charla.chat.selectors import is_owner
from charla.conf import charla_settings


def room_create(*, creator: AbstractBaseUser, name: str, description: str = "", is_private: bool = False) -> Room:
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
            hooks.membership_changed.send(Membership, room=room, user=creator, actor=creator, joined=True)
    except IntegrityError:
        raise taken from None
    return room


def room_open(*, user: AbstractBaseUser, name: str) -> Room:
    """The room `name` as `user` may open it: joins a public room, requires membership of a private one."""
    room = Room.objects.visible_to(user).filter(name=name).first()
    if room is None:
        raise RoomNotFound()
    if not room.is_private and not Membership.objects.filter(room=room, user=user).exists():
        _join(room=room, user=user, actor=user)  # joining is rare, opening is not: only a join pays for a transaction
    return room


def member_add(*, room: Room, actor: AbstractBaseUser, user: AbstractBaseUser) -> Membership:
    """Invite `user` into `room`; only its owners may."""
    if not is_owner(room=room, user=actor):
        raise ActionError(_("Only the room's owner can invite members."), "forbidden")
    return _join(room=room, user=user, actor=actor)


def _join(*, room: Room, user: AbstractBaseUser, actor: AbstractBaseUser) -> Membership:
    """Make `user` a member (once), telling membership_changed's receivers inside the transaction."""
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(room=room, user=user)
        if created:
            hooks.membership_changed.send(Membership, room=room, user=user, actor=actor, joined=True)
    return membership


def member_remove(*, room: Room, actor: AbstractBaseUser, user: AbstractBaseUser) -> None:
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
        hooks.membership_changed.send(Membership, room=room, user=user, actor=actor, joined=False)


def join_default_rooms(*, user: AbstractBaseUser) -> list[Room]:
    """A new account joins the public rooms named in CHARLA_DEFAULT_ROOMS (those that exist), as Slack's #general."""
    names = charla_settings.DEFAULT_ROOMS
    if isinstance(names, str):  # "general,random", as an environment variable reads
        names = names.split(",")
    names = [name.strip().lower() for name in names if name.strip()]
    rooms = list(Room.objects.public().annotate(lower=Lower("name")).filter(lower__in=names)) if names else []
    for room in rooms:
        _join(room=room, user=user, actor=user)
    return rooms
