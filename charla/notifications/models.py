"""Announcements and the notifications each user receives."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Priority(models.TextChoices):
    """Stored in English; the wire speaks the tutorial's words (see charla.notifications.protocol)."""

    HIGH = "high", _("high")
    NORMAL = "normal", _("normal")
    LOW = "low", _("low")


class Announcement(models.Model):
    """A staff announcement, for every user who exists when it is sent."""

    title = models.CharField(_("title"), max_length=200)
    message = models.TextField(_("message"), max_length=4000)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")

    def __str__(self) -> str:
        return self.title


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user) -> "NotificationQuerySet":
        return self.filter(recipient=user)

    def unread(self) -> "NotificationQuerySet":
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One notification for one user: personal, an announcement, or a mention."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("personal")
        ANNOUNCEMENT = "announcement", _("announcement")
        MENTION = "mention", _("mention")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    message = models.TextField(_("message"), max_length=4000)
    url = models.CharField(_("link"), max_length=500, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    room = models.ForeignKey("charla.Room", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    chat_message = models.ForeignKey(
        "charla.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "announcement"],
                condition=models.Q(announcement__isnull=False),
                name="one_delivery_per_announcement",
            ),
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.recipient}: {self.title}"
