from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    """The team chat: rooms, members and messages."""

    name = "chat"
    verbose_name = _("Chat")

    def ready(self):
        from chat import signals  # noqa: F401  (connects receivers)
        from realtime import ratelimit

        ratelimit.parse_rate(settings.CHARLA_SEND_RATE)  # refuse to start with a malformed rate
