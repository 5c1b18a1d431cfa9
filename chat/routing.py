"""WebSocket routes."""

from django.urls import re_path

from chat import consumers
from chat.models import ROOM_NAME_PATTERN
from realtime.sockets import NotFoundConsumer

websocket_urlpatterns = [
    re_path(rf"^ws/chat/(?P<room_name>{ROOM_NAME_PATTERN})/$", consumers.ChatConsumer.as_asgi()),
    # Anything else (an invalid room name, a probe) is refused cleanly, not with a crash.
    re_path(r"", NotFoundConsumer.as_asgi()),
]
