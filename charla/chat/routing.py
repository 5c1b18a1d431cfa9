"""WebSocket routes of the chat (charla.asgi serves them)."""

from django.urls import re_path

from charla.chat import consumers
from charla.chat.models import ROOM_NAME_PATTERN
from charla.realtime.paths import route

websocket_urlpatterns = [
    re_path(route(rf"chat/(?P<room_name>{ROOM_NAME_PATTERN})/$"), consumers.ChatConsumer.as_asgi()),
]
