from django.urls import path

from charla.notifications import views

urlpatterns = [
    path("", views.notification_list, name="notification_list"),
    path("read/", views.mark_read, name="notification_mark_read"),
    path("announce/", views.announce_page, name="announce"),
    path("announce/send/", views.announce_endpoint, name="announce_endpoint"),
    path("announcements/<int:pk>/", views.announcement_readers, name="announcement_readers"),
]
