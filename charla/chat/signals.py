"""Signal receivers: unsafe usernames are refused; sockets close when their session logs out, or their user
may no longer act as before.

A password change, a deactivation or a deletion ends the user's other sessions over
HTTP (Django checks the session's password hash at each request); open sockets hear it
here and check their session again (HubConsumer.user_changed). Writes check it too
(charla.chat.services), in case the channel layer lost the event.
"""

from functools import partial

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from charla.chat import services
from charla.chat.usernames import validate_reserved, validate_username
from charla.conf import charla_settings
from charla.realtime import publish

CREDENTIAL_FIELDS = frozenset({"password", "is_active"})


@receiver(user_logged_out)
def close_sockets_of_logged_out_session(sender, request, user, **kwargs):
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        publish.session_ended_sync(session_key)


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
    """Nobody takes @sala or @room; a new name follows charla.chat.usernames (the admin and scripts too),
    unless CHARLA_USERNAME_RULES is off."""
    if not charla_settings.USERNAME_RULES:
        return
    validate_reserved(instance.get_username())
    if not raw and _is_new_name(sender, instance, update_fields):
        validate_username(instance.get_username(), exclude_pk=instance.pk)


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def remember_credentials(sender, instance, raw=False, update_fields=None, **kwargs):
    """Read the stored password hash and activity before a save that may change them (one query; logins skip it)."""
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not CREDENTIAL_FIELDS & set(update_fields):
        return
    instance._credentials_before = (
        sender._default_manager.filter(pk=instance.pk).values_list("password", "is_active").first()
    )


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def join_default_rooms(sender, instance, created, raw=False, **kwargs):
    """A new account, however it was made (sign-up, the admin, a command), joins CHARLA_DEFAULT_ROOMS."""
    if created and not raw:
        services.join_default_rooms(user=instance)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def close_sockets_of_changed_user(sender, instance, created, raw=False, **kwargs):
    before = instance.__dict__.pop("_credentials_before", None)
    if created or raw or before is None:
        return
    password, was_active = before
    if instance.password != password or (was_active and not instance.is_active):
        transaction.on_commit(partial(publish.user_changed_sync, instance.pk))


@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def close_sockets_of_deleted_user(sender, instance, **kwargs):
    transaction.on_commit(partial(publish.user_changed_sync, instance.pk))
