"""WebSocket routes of the notifications app (charla.asgi serves them)."""

from django.urls import re_path

from charla.notifications.consumers import NotificationsConsumer
from charla.realtime.paths import route

websocket_urlpatterns = [re_path(route(r"notifications/$"), NotificationsConsumer.as_asgi())]
