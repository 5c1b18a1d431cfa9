"""ASGI entry point: HTTP goes to Django, WebSockets through origin and auth checks to Charla."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chat.routing import websocket_urlpatterns as chat_routes  # noqa: E402
from notifications.routing import websocket_urlpatterns as notification_routes  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The chat's routes end with a catch-all that refuses unknown paths: keep them last.
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(notification_routes + chat_routes))),
    }
)
