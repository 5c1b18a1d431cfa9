"""The tutorial's project URLs (its chat views and templates are not needed by the bench)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
