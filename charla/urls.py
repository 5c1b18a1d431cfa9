"""Charla's pages, under the "charla" namespace: include them under any prefix.

    path("chat/", include("charla.urls"))

Room pages, scroll-back, members, notifications and announcements. Accounts (log in,
sign up) stay the host's; Charla's own site adds its pages in config/urls.py.
"""

from django.urls import include, path

app_name = "charla"

urlpatterns = [
    path("notifications/", include("charla.notifications.urls")),
    path("", include("charla.chat.urls")),
]
