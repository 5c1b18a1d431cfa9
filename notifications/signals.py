"""Usernames: @sala and @room mention a whole room, so nobody may take them; new names follow chat.usernames."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from chat import usernames
from notifications.services import ROOM_WIDE_MENTIONS


def validate_reserved(username: str) -> None:
    """Refuse the names that mention a whole room."""
    if username.lower() in ROOM_WIDE_MENTIONS:
        raise ValidationError(_("This name is reserved for mentioning a whole room."), code="reserved")


def validate_username(username: str, *, exclude_pk=None) -> None:
    """Refuse a name nobody may take: reserved, outside the safe characters, or a lookalike of a taken one."""
    validate_reserved(username)
    usernames.validate_username_characters(username)
    usernames.validate_not_lookalike(username, exclude_pk=exclude_pk)


def _is_new_name(sender, instance, update_fields) -> bool:
    """Whether this save gives the user a name they did not have (names taken before the rules stay usable)."""
    if instance._state.adding:
        return True
    field = sender.USERNAME_FIELD
    if update_fields is not None and field not in update_fields:
        return False
    stored = sender.objects.filter(pk=instance.pk).values_list(field, flat=True).first()
    return stored != instance.get_username()


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def refuse_unsafe_usernames(sender, instance, raw=False, update_fields=None, **kwargs):
    validate_reserved(instance.get_username())
    if not raw and _is_new_name(sender, instance, update_fields):
        validate_username(instance.get_username(), exclude_pk=instance.pk)
