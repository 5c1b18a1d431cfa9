"""The rules for message text, in one place for the wire parser and the services."""

from django.utils.translation import gettext as _

from charla.conf import charla_settings


class InvalidText(ValueError):
    """Message text that cannot be stored; `message` is for the user, `code` for clients."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def is_storable_text(text: str) -> bool:
    """False for text no database column takes: lone surrogates (half an emoji cut by a
    UTF-16 slice), and NUL characters (PostgreSQL text refuses them)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_message_text(text: str) -> str:
    """The text to store: storable, stripped, not empty, within CHARLA_MESSAGE_MAX_CHARS."""
    if not is_storable_text(text):
        raise InvalidText(_("The message must be valid Unicode text."), "invalid_field")
    text = text.strip()
    if not text:
        raise InvalidText(_("The message is empty."), "empty_message")
    limit = charla_settings.MESSAGE_MAX_CHARS
    if len(text) > limit:
        raise InvalidText(
            _("The message is too long (at most %(limit)d characters).") % {"limit": limit}, "message_too_long"
        )
    return text
