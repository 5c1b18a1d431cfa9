"""The standalone site's account pages around Django's auth views: sign-up, the login page,
its lockout, and password reset only when mail works.

A host project that embeds Charla keeps its own accounts (docs/embedding.md); these are
the pages of Charla run on its own (`make run`).
"""

from __future__ import annotations

import math
from functools import wraps

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from charla.chat import selectors
from charla.chat.settings_views import remember_language
from charla.chat.usernames import validate_username


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].help_text = gettext_lazy("Letters (accents are fine), digits, and . _ -")

    def clean_username(self):
        username = super().clean_username()
        if username is None:  # Django already refused it: taken, in the same or another case
            return username
        validate_username(username)
        return username


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    """Django's login page, with a password reset link only when mail can be sent; a person
    who chose a language in their settings gets it back on logging in (on any browser)."""

    def form_valid(self, form):
        response = super().form_valid(form)
        language = selectors.profile_of(form.get_user()).language
        return remember_language(response, language) if language else response

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"password_reset_enabled": settings.CHARLA_EMAIL_ENABLED}


def lockout_message() -> str:
    """What a locked-out visitor reads: try again after the cool-off."""
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return ngettext(
        "Too many failed attempts to log in. For your safety, logging in is paused: try again in %(minutes)d minute.",
        "Too many failed attempts to log in. For your safety, logging in is paused: try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """The login page with the lockout message (AXES_LOCKOUT_CALLABLE), for Charla's and the admin's login."""
    context = {
        "form": AuthenticationForm(request),
        "locked_out_message": lockout_message(),
        "password_reset_enabled": settings.CHARLA_EMAIL_ENABLED,
    }
    return render(request, "registration/login.html", context, status=429)


def client_ip(request) -> str | None:
    """The address login failures count against (AXES_CLIENT_IP_CALLABLE).

    Behind the TLS proxy, the last X-Forwarded-For entry: the one the proxy appended (any
    entry before it was written by the client and proves nothing). Without a proxy the
    header is the client's own invention and is ignored.
    """
    if settings.CHARLA_BEHIND_TLS_PROXY:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


def mail_required(view):
    """A 404 unless mail is configured: a reset link that is never sent must not be promised."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.CHARLA_EMAIL_ENABLED:
            raise Http404(_("Password reset is not available: this server sends no mail."))
        return view(request, *args, **kwargs)

    return wrapped


# Included before django.contrib.auth.urls in config/urls.py, so these win for the same paths.
urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("password_reset/", mail_required(auth_views.PasswordResetView.as_view()), name="password_reset"),
    path("password_reset/done/", mail_required(auth_views.PasswordResetDoneView.as_view()), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        mail_required(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path("reset/done/", mail_required(auth_views.PasswordResetCompleteView.as_view()), name="password_reset_complete"),
]
