from django.urls import path, re_path

from charla.chat import settings_views, views
from charla.chat.models import ROOM_NAME_PATTERN

room = rf"^rooms/(?P<room_name>{ROOM_NAME_PATTERN})/"

urlpatterns = [
    path("", views.room_list, name="room_list"),
    path("rooms/new/", views.room_create, name="room_create"),
    path("settings/", settings_views.preferences, name="settings"),
    path("settings/password/", settings_views.password_change, name="settings_password"),
    path("settings/rooms/", settings_views.rooms_notify, name="settings_rooms"),
    re_path(room + r"$", views.room, name="room"),
    re_path(room + r"messages/$", views.room_messages, name="room_messages"),
    re_path(room + r"members/$", views.room_members, name="room_members"),
    re_path(room + r"members/(?P<user_id>\d+)/remove/$", views.room_member_remove, name="room_member_remove"),
]
