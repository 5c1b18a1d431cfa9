"""Session authentication for WebSockets, done once at connect.

Channels' AuthMiddlewareStack (cookies, then session, then user) copies the scope three
times, keeps three coroutine frames alive for the life of each socket, and wraps every
frame the server sends in a check of whether the session needs saving: at a room of
1,000 that check was a fifth of the server's time. A WebSocket never saves its session,
so this does the same steps with the same library functions, once: parse the cookie
header (Django's parser), open the session (SESSION_ENGINE), load the user
(channels.auth.get_user, which also verifies the session's hash).
"""

from __future__ import annotations

from importlib import import_module

from channels.auth import get_user
from django.conf import settings
from django.http.cookie import parse_cookie


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
