from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("team/chat/", include("charla.urls")),  # Charla, under a prefix of the host's choosing
    path("", lambda request: HttpResponse("The host's home page")),
]
