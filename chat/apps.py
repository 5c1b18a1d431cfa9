from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    """The team chat: rooms, members and messages."""

    name = "chat"
    verbose_name = _("Chat")
