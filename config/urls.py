"""Charla's own site: the chat at the root, its account pages, the admin."""

from django.contrib import admin
from django.urls import include, path

from config import accounts

urlpatterns = [
    path("admin/", admin.site.urls),
    path("signup/", accounts.signup, name="signup"),
    # Charla's login page, and password reset only when mail is configured (404 otherwise).
    path("accounts/", include(accounts.urlpatterns)),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("charla.urls")),
]
