"""How notifications react to chat: receivers of charla.chat.hooks, connected in NotificationsConfig.ready().

Each runs inside the chat write's transaction (see charla.chat.hooks) and sends its frames on commit.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.urls import reverse
from django.utils.translation import gettext as _

from charla.chat import hooks
from charla.chat.models import Message, Room
from charla.notifications import protocol, services
from charla.notifications.models import Notification


@receiver(hooks.message_stored, dispatch_uid="notifications.message_stored")
def message_stored(sender, *, message: Message, **kwargs) -> None:
    """Its mentions become notifications; the room's notification sockets hear of the activity."""
    room = message.room
    mentioned = services.notify_mentions(message=message)
    services.send_frame_on_commit(
        group=services.room_group(room.pk),
        frame=protocol.room_activity(room.name, message.seq, message.author.get_username(), mentioned),
    )


@receiver(hooks.message_deleted, dispatch_uid="notifications.message_deleted")
def message_deleted(sender, *, message: Message, **kwargs) -> None:
    """A deleted message's mentions are withdrawn."""
    services.withdraw_mentions(message=message)


@receiver(hooks.room_read, dispatch_uid="notifications.room_read")
def room_read(sender, *, room: Room, user: AbstractBaseUser, seq: int, **kwargs) -> None:
    """Mentions up to the cursor are read; the user's other pages are told."""
    services.mentions_mark_read(user=user, room=room, seq=seq)
    services.send_frame_on_commit(group=services.user_group(user.pk), frame=protocol.room_read(room.name, seq))


@receiver(hooks.membership_changed, dispatch_uid="notifications.membership_changed")
def membership_changed(
    sender, *, room: Room, user: AbstractBaseUser, actor: AbstractBaseUser, joined: bool, **kwargs
) -> None:
    """The user's notification sockets re-read their rooms; someone invited is told who added them."""
    services.rooms_changed_on_commit(user_id=user.pk)
    if joined and actor.pk != user.pk:
        services.notify_user(
            user,
            _("You were added to #%(room)s") % {"room": room.name},
            _("%(user)s invited you.") % {"user": actor.get_username()},
            url=reverse("charla:room", kwargs={"room_name": room.name}),
        )


@receiver(hooks.room_badges, dispatch_uid="notifications.room_badges")
def room_badges(sender, *, user: AbstractBaseUser, **kwargs) -> dict:
    """`mentions`: the user's unread mentions in each room of the list."""
    mentions = (
        Notification.objects.filter(
            room=OuterRef("pk"), recipient=user, kind=Notification.Kind.MENTION, read_at__isnull=True
        )
        .values("room")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return {"mentions": Coalesce(Subquery(mentions), 0)}
