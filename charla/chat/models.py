"""Rooms, their members and their messages."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charla.chat import hooks
from charla.realtime import groups

ROOM_NAME_PATTERN = r"[-a-zA-Z0-9_]+"
ROOM_NAME_MAX_LENGTH = 50
# Names that are pages of their own under /rooms/.
RESERVED_ROOM_NAMES = frozenset({"new"})


def room_name_validator(value: str) -> None:
    """Letters, digits, hyphens and underscores, and not the name of a page."""
    RegexValidator(rf"^{ROOM_NAME_PATTERN}\Z", _("Use only letters, digits, hyphens and underscores."))(value)
    if value.lower() in RESERVED_ROOM_NAMES:
        raise ValidationError(_("This name is reserved; choose another."), code="reserved")


class RoomQuerySet(models.QuerySet):
    def visible_to(self, user) -> "RoomQuerySet":
        """Rooms the user may open: every public room and the private ones they belong to."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(Q(is_private=False) | Q(memberships__user=user)).distinct()

    def joined_by(self, user) -> "RoomQuerySet":
        """Rooms the user is a member of."""
        return self.filter(memberships__user=user)

    def public(self) -> "RoomQuerySet":
        return self.filter(is_private=False)

    def with_unread(self, user) -> "RoomQuerySet":
        """Annotate `unread` (others' messages after the user's read cursor) and the badges other apps add.

        Those come from the room_badges hook (charla.chat.hooks): notifications adds `mentions`.
        """
        mine = Membership.objects.filter(room=OuterRef("pk"), user=user)
        last_read = mine.values("last_read_seq")[:1]
        unread = (
            Message.objects.filter(room=OuterRef("pk"), seq__gt=OuterRef("my_last_read"), deleted=False)
            .exclude(author=user)
            .values("room")
            .annotate(n=Count("pk"))
            .values("n")
        )
        badges = {}
        for _receiver, annotations in hooks.room_badges.send(Room, user=user):
            badges.update(annotations)
        return self.annotate(
            my_last_read=Coalesce(Subquery(last_read), 0),
            my_notify=Coalesce(Subquery(mine.values("notify")[:1]), Value(Membership.Notify.ALL)),
            unread=Coalesce(Subquery(unread), 0),
            **badges,
        )


class Room(models.Model):
    """A chat room: public (anyone may join) or private (members only)."""

    name = models.CharField(
        _("name"),
        max_length=ROOM_NAME_MAX_LENGTH,
        unique=True,
        validators=[room_name_validator],
        error_messages={"unique": _("A room with this name already exists.")},  # the admin's form too
    )
    description = models.TextField(_("description"), blank=True, max_length=500)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="rooms_created"
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    is_private = models.BooleanField(_("private"), default=False)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="rooms", blank=True)
    # The room's event counter: every send, edit and deletion takes the next value while
    # the row is locked, so a room's events are totally ordered even when transactions
    # commit out of order, and a client can resume "after N" with no gap.
    last_seq = models.BigIntegerField(default=0, editable=False)

    objects = RoomQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # "Secret" and "secret" would be two rooms that read as one: names are unique in any case.
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="unique_room_name_ignoring_case",
                violation_error_message=_("A room with this name already exists."),
            )
        ]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")

    def __str__(self) -> str:
        return self.name

    @property
    def group_name(self) -> str:
        """The channel-layer group of this room's open sockets."""
        return self.group_name_for(self.pk)

    @staticmethod
    def group_name_for(room_id: int) -> str:
        return groups.room(room_id)

    def usuarios_conectados(self) -> int:
        """How many users are online in this room now (the tutorial's method, made real)."""
        from charla.realtime.presence import online_usernames

        return len(online_usernames(self.pk))


class Membership(models.Model):
    """A user's membership of a room, with their role and read cursor."""

    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        MEMBER = "member", _("member")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined = models.DateTimeField(_("joined"), auto_now_add=True)
    last_read_seq = models.BigIntegerField(_("last read"), default=0)

    class Notify(models.TextChoices):
        """What of the room reaches its member: badges, toasts, desktop notifications."""

        ALL = "all", _("Every message")
        MENTIONS = "mentions", _("Mentions only")
        NOTHING = "nothing", _("Nothing (muted)")

    notify = models.CharField(_("notify"), max_length=10, choices=Notify.choices, default=Notify.ALL)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="unique_membership")]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} in {self.room}"


class MessageQuerySet(models.QuerySet):
    def visible(self) -> "MessageQuerySet":
        """Messages that have not been deleted."""
        return self.filter(deleted=False)

    def changed_after(self, seq: int) -> "MessageQuerySet":
        """Messages sent, edited or deleted after the room event `seq`, in room order."""
        return self.filter(updated_seq__gt=seq).order_by("seq")


class Message(models.Model):
    """A message sent in a room."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages")
    content = models.TextField(_("content"))
    sent = models.DateTimeField(_("sent"), default=timezone.now)
    edited = models.BooleanField(_("edited"), default=False)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    deleted = models.BooleanField(_("deleted"), default=False)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    # Position in the room (the room event that created it) and the room event that
    # last changed it (send, edit or deletion).
    seq = models.BigIntegerField(editable=False)
    updated_seq = models.BigIntegerField(editable=False)
    # Chosen by the sending client so that a retried send never stores a second copy.
    # NULL, not "", when absent: the unique constraint must ignore messages without one.
    client_id = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="unique_message_seq"),
            models.UniqueConstraint(
                fields=["author", "client_id"], condition=Q(client_id__isnull=False), name="unique_client_id"
            ),
        ]
        indexes = [models.Index(fields=["room", "updated_seq"], name="message_room_updated")]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.author}: {self.content[:50]}"

    def to_dict(self) -> dict:
        """The message as the wire protocol carries it (the tutorial's to_dict, extended)."""
        from charla.chat.protocol import message_payload

        return message_payload(self)


class Profile(models.Model):
    """A person's own settings in Charla: language, theme, desktop notifications."""

    class Theme(models.TextChoices):
        SYSTEM = "system", _("Same as my device")
        LIGHT = "light", _("Light")
        DARK = "dark", _("Dark")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="charla_profile"
    )
    # "" follows the browser's language (Accept-Language).
    language = models.CharField(_("language"), max_length=10, blank=True)
    theme = models.CharField(_("theme"), max_length=10, choices=Theme.choices, default=Theme.SYSTEM)
    desktop_notifications = models.BooleanField(_("desktop notifications"), default=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"{self.user}'s settings"
