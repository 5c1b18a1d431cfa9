# The seed tutorial's chat/routing.py, kept as written for comparison, bugs included
# (\w+ refuses room names with a hyphen: the bench gives the tutorial's rooms underscores).

from django.urls import re_path

from . import consumers

websocket_urlpatterns = [
    re_path(r"ws/chat/(?P<nombre_sala>\w+)/$", consumers.ChatConsumer.as_asgi()),
]
