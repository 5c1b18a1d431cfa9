"""Session authentication for WebSockets, done once at connect, and again if the user changes.

Channels' AuthMiddlewareStack (cookies, then session, then user) copies the scope three
times, keeps three coroutine frames alive for the life of each socket, and wraps every
frame the server sends in a check of whether the session needs saving: at a room of
1,000 that check was a fifth of the server's time. A WebSocket never saves its session,
so this does the same steps with the same library functions, once: parse the cookie
header (Django's parser), open the session (SESSION_ENGINE), load the user
(channels.auth.get_user, which also verifies the session's hash). When the user's
password, activity or account changes, each socket checks its session again.
"""

from __future__ import annotations

import asyncio
import enum
from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.http.cookie import parse_cookie
from django.utils.crypto import constant_time_compare


class WebSocketAuthMiddleware:
    """Puts `cookies`, `session` and `user` in a WebSocket's scope, as AuthMiddlewareStack does."""

    def __init__(self, inner):
        self.inner = inner
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope, receive, send):
        cookie_header = next((value for name, value in scope.get("headers", ()) if name == b"cookie"), b"")
        cookies = parse_cookie(cookie_header.decode("latin-1"))
        session = self.session_store(cookies.get(settings.SESSION_COOKIE_NAME))
        scope = {**scope, "cookies": cookies, "session": session}
        scope["user"] = await get_user(scope)
        return await self.inner(scope, receive, send)


class SessionCheck(enum.Enum):
    """What became of a socket's session after its user changed."""

    VALID = "valid"  # still logged in as the same user
    RENEWED = "renewed"  # gone from the store: cycled (a password change in that session), or logged out
    REVOKED = "revoked"  # still there, but its user may no longer act: inactive, deleted, or another password


# update_session_auth_hash() renews the session that changed the password just after the
# save that announced the change: a session still stored with the old hash gets this long
# to turn out to be that one.
RENEWAL_GRACE = 1.0
_GONE = object()


def _session_user(session_store, session_key: str):
    """The session's user if the session exists and still authenticates them, as
    channels.auth.get_user decides but without flushing it; _GONE if it does not exist."""
    session = session_store(session_key)
    if not session.exists(session_key):
        return _GONE
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = load_backend(backend_path).get_user(user_id)
    session_hash = session.get(HASH_SESSION_KEY)
    if user is None or not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    return user


async def recheck_session(scope) -> tuple[SessionCheck, Any]:
    """Authenticate a socket's session again, as a new request with its cookie would be; with the user if VALID."""
    session_key = scope["session"].session_key
    if session_key is None:
        return SessionCheck.RENEWED, None
    check = database_sync_to_async(_session_user)
    for wait in (0, RENEWAL_GRACE):
        await asyncio.sleep(wait)
        user = await check(type(scope["session"]), session_key)
        if user is _GONE:
            # The page that renewed it has the new cookie, and reconnects with it.
            return SessionCheck.RENEWED, None
        if user is not None and user.pk == scope["user"].pk:
            return SessionCheck.VALID, user
    return SessionCheck.REVOKED, None
