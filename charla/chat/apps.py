from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    """The team chat: rooms, members and messages.

    Its label is "charla" (tables charla_room, charla_message, ...), so that it sits beside a
    host project's own "chat" app; `manage.py charla_adopt_tables` moves the tables of a
    database made before Charla was a package (docs/embedding.md).
    """

    name = "charla.chat"
    label = "charla"
    verbose_name = _("Chat")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from charla.chat import checks, signals  # noqa: F401  (registers checks, connects receivers)
        from charla.conf import charla_settings
        from charla.realtime import ratelimit

        ratelimit.parse_rate(charla_settings.SEND_RATE)  # refuse to start with a malformed rate
