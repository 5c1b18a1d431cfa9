from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Staff announcements and personal notifications, stored and delivered live."""

    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from notifications import receivers  # noqa: F401  (connects the receivers of chat.hooks)
