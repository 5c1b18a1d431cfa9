"""The one call that serves Charla's sockets beside a project's HTTP app.

    # asgi.py of the host project
    from django.core.asgi import get_asgi_application
    django_asgi_app = get_asgi_application()  # first: it loads the apps

    from charla.asgi import charla_application
    application = charla_application(django_asgi_app)

A project with WebSocket routes of its own passes them as `websocket_routes`; they are
served behind the same origin check and session authentication as Charla's.
"""

from __future__ import annotations

from collections.abc import Sequence

from channels.routing import ProtocolTypeRouter, URLRouter

from charla.chat.routing import websocket_urlpatterns as chat_routes
from charla.notifications.routing import websocket_urlpatterns as notification_routes
from charla.realtime.auth import WebSocketAuthMiddleware
from charla.realtime.origin import OriginMiddleware
from charla.realtime.sockets import NotFoundConsumer


def websocket_application(websocket_routes: Sequence = ()):
    """Charla's sockets and the given routes, behind the origin check and session auth.
    Any other path is refused with a close, not a crash."""
    from django.urls import re_path

    routes = [*notification_routes, *chat_routes, *websocket_routes, re_path(r"", NotFoundConsumer.as_asgi())]
    return OriginMiddleware(WebSocketAuthMiddleware(URLRouter(routes)))


def charla_application(http_application, *, websocket_routes: Sequence = ()) -> ProtocolTypeRouter:
    """HTTP to the project's app (Django's, usually); WebSockets to Charla and `websocket_routes`."""
    return ProtocolTypeRouter({"http": http_application, "websocket": websocket_application(websocket_routes)})
