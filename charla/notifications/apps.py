from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Staff announcements and personal notifications, stored and delivered live."""

    name = "charla.notifications"
    label = "charla_notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from charla.notifications import receivers  # noqa: F401  (connects the receivers of charla.chat.hooks)
