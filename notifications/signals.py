"""@sala and @room mention a whole room, so nobody may take them as a username."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from notifications.services import ROOM_WIDE_MENTIONS


def validate_username(username: str) -> None:
    if username.lower() in ROOM_WIDE_MENTIONS:
        raise ValidationError(_("This name is reserved for mentioning a whole room."), code="reserved")


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def refuse_reserved_usernames(sender, instance, **kwargs):
    validate_username(instance.get_username())
