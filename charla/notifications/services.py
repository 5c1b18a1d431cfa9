"""Every notification write: store first, deliver live once the transaction commits."""

from __future__ import annotations

from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from charla.chat.mentions import ROOM_WIDE_MENTIONS, mentioned_names
from charla.chat.models import Membership, Message, Room
from charla.notifications import protocol
from charla.notifications.links import is_safe_link
from charla.notifications.models import Announcement, Notification, Priority
from charla.realtime import groups
from charla.realtime.publish import group_send_sync

__all__ = ["Notification", "announce", "mark_read", "notify_user", "unread_count"]

EVERYONE = groups.EVERYONE
FRAME = "notify.frame"
ANNOUNCEMENT = "notify.announcement"
ROOMS_CHANGED = "notify.rooms_changed"


user_group = groups.user_notifications
room_group = groups.room_activity


def send_frame_on_commit(*, group: str, frame: dict) -> None:
    """Deliver a frame (serialized once) to a notifications group after the transaction commits."""
    message = {"type": FRAME, "text": protocol.encode(frame)}
    transaction.on_commit(partial(group_send_sync, group, message))


# Personal notifications and announcements.


def _check_link(url: str | None) -> None:
    """A link is a path on this site or an http(s) address: never javascript:, data: or a way off-site."""
    if url and not is_safe_link(url):
        raise ValueError(f"url must be a path ('/rooms/general/') or an http(s) address, not {url!r}")


def notify_user(user: AbstractBaseUser, title: str, message: str, *, url: str | None = None) -> Notification:
    """Store a personal notification for `user` and push it to their open pages on commit."""
    _check_link(url)
    notification = Notification.objects.create(
        recipient=user, kind=Notification.Kind.PERSONAL, title=title[:200], message=message, url=url or ""
    )
    send_frame_on_commit(group=user_group(user.pk), frame=protocol.notification_payload(notification))
    return notification


def announce(
    title: str, message: str, *, priority: str = Priority.NORMAL, author: AbstractBaseUser | None = None
) -> Announcement:
    """Store an announcement with a delivery for every user who exists now; push it live on commit."""
    if priority not in Priority.values:
        raise ValueError(f"priority must be one of {Priority.values}, not {priority!r}")
    with transaction.atomic():
        announcement = Announcement.objects.create(title=title[:200], message=message, priority=priority, author=author)
        recipients = get_user_model().objects.filter(is_active=True).values_list("pk", flat=True)
        Notification.objects.bulk_create(
            Notification(
                recipient_id=pk,
                kind=Notification.Kind.ANNOUNCEMENT,
                title=announcement.title,
                message=message,
                priority=priority,
                announcement=announcement,
            )
            for pk in recipients.iterator()
        )
        # One frame for everyone, serialized once; each socket checks that its user was a recipient.
        event = {
            "type": ANNOUNCEMENT,
            "text": protocol.encode(protocol.announcement(announcement)),
            "sent": announcement.created.timestamp(),
        }
        transaction.on_commit(partial(group_send_sync, EVERYONE, event))
    return announcement


def mark_read(
    user: AbstractBaseUser, *, ids: list[int] | None = None, announcement_ids: list[int] | None = None
) -> int:
    """Mark some of the user's notifications read (all of them when neither list is given)."""
    every = ids is None and announcement_ids is None
    unread = Notification.objects.for_user(user).unread()
    if not every:
        unread = unread.filter(Q(pk__in=ids or []) | Q(announcement_id__in=announcement_ids or []))
    with transaction.atomic():
        # Locked, so two pages marking at once never both report (and subtract) the same ones.
        marked = list(unread.select_for_update().values_list("pk", "announcement_id"))
        if not marked:
            return 0
        Notification.objects.filter(pk__in=[pk for pk, _ in marked]).update(read_at=timezone.now())
        if every:
            frame = protocol.notifications_read(None, None)
        else:
            frame = protocol.notifications_read([pk for pk, _ in marked], sorted({a for _, a in marked if a}))
        send_frame_on_commit(group=user_group(user.pk), frame=frame)
    return len(marked)


def withdraw_mentions(*, message: Message) -> None:
    """A deleted message's mentions go away: its text must not linger in anyone's list or count."""
    withdrawn = list(
        Notification.objects.filter(chat_message=message, kind=Notification.Kind.MENTION).values_list(
            "pk", "recipient_id", "read_at"
        )
    )
    if not withdrawn:
        return
    Notification.objects.filter(pk__in=[pk for pk, _, _ in withdrawn]).delete()
    for pk, recipient_id, read_at in withdrawn:
        if read_at is None:
            send_frame_on_commit(group=user_group(recipient_id), frame=protocol.notifications_read([pk], []))


def unread_count(user: AbstractBaseUser) -> int:
    """How many of the user's notifications are unread."""
    return Notification.objects.for_user(user).unread().count()


# Mentions, called by charla.notifications.receivers inside the message's transaction.


def notify_mentions(*, message: Message) -> list[str]:
    """Notify the users a message mentions who may read its room (@sala/@room: every member).

    Returns the usernames notified, for the room's activity frame.
    """
    names = mentioned_names(message.content)
    if not names:
        return []
    room, author = message.room, message.author
    User = get_user_model()
    field = User.USERNAME_FIELD
    wanted = Q()
    for name in names:
        if name.lower() not in ROOM_WIDE_MENTIONS:
            wanted |= Q(**{f"{field}__iexact": name})
    members = Membership.objects.filter(room=room).values_list("user_id", flat=True)
    recipients = User.objects.none()
    if wanted:
        recipients = User.objects.filter(wanted, is_active=True)
        if room.is_private:
            recipients = recipients.filter(pk__in=members)
    if any(name.lower() in ROOM_WIDE_MENTIONS for name in names):
        recipients = recipients | User.objects.filter(pk__in=members, is_active=True)
    recipients = list(recipients.exclude(pk=author.pk).distinct())
    preview = message.content if len(message.content) <= 200 else message.content[:199] + "…"
    url = reverse("charla:room", kwargs={"room_name": room.name})
    # Who muted the room finds its mentions in their list, already read: nothing interrupts them.
    muted = set(
        Membership.objects.filter(room=room, notify=Membership.Notify.NOTHING).values_list("user_id", flat=True)
    )
    now = timezone.now()
    created = Notification.objects.bulk_create(
        Notification(
            recipient=user,
            kind=Notification.Kind.MENTION,
            title=f"@{author.get_username()} #{room.name}",
            message=preview,
            url=url,
            room=room,
            chat_message=message,
            read_at=now if user.pk in muted else None,
        )
        for user in recipients
    )
    for notification in created:
        if notification.read_at is not None:
            continue
        send_frame_on_commit(
            group=user_group(notification.recipient_id), frame=protocol.notification_payload(notification)
        )
    return sorted(user.get_username() for user in recipients)


def mentions_mark_read(*, user: AbstractBaseUser, room: Room, seq: int) -> int:
    """Mark read the user's unread mentions in `room` up to room event `seq` (their read cursor moved there)."""
    mentions = Notification.objects.for_user(user).unread().filter(room=room, chat_message__seq__lte=seq)
    return mark_read(user, ids=list(mentions.values_list("pk", flat=True)))


def rooms_changed_on_commit(*, user_id: int) -> None:
    """The user joined or left a room: their notification sockets re-read which rooms to watch."""
    transaction.on_commit(partial(group_send_sync, user_group(user_id), {"type": ROOMS_CHANGED}))
