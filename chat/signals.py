"""Signal receivers: a session that logs out closes its sockets."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from chat import broadcast


@receiver(user_logged_out)
def close_sockets_of_logged_out_session(sender, request, user, **kwargs):
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        broadcast.session_ended_sync(session_key)
