from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Charla's login page, and password reset only when mail is configured (404 otherwise).
    path("accounts/", include("chat.accounts")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("notifications/", include("notifications.urls")),
    path("", include("chat.urls")),
]
