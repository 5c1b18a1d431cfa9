# The seed tutorial's config/asgi.py, kept as written for comparison, bugs included.
# Only change: module paths (bench.tutorial_app.*, since Charla's own package is "chat").

import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

# Establecemos la configuración de Django antes de importar nada más
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.tutorial_app.settings")

# Inicializamos Django primero
django_asgi_app = get_asgi_application()

# Ahora podemos importar nuestro routing
from bench.tutorial_app.chat.routing import websocket_urlpatterns  # noqa: E402

# ProtocolTypeRouter es como el dispatcher principal
# Decide qué hacer según el tipo de protocolo que recibe
application = ProtocolTypeRouter(
    {
        # HTTP tradicional usa la aplicación ASGI estándar de Django
        "http": django_asgi_app,
        # WebSocket usa nuestro routing personalizado
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
