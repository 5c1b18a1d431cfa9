"""A person's own settings page: language, theme, desktop notifications, password, and what each room sends them."""

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from charla.chat import selectors, services
from charla.chat.forms import PreferencesForm, RoomsNotifyForm
from charla.chat.models import Membership


def _memberships(user):
    return Membership.objects.filter(user=user).select_related("room").order_by("room__name")


def _page(request, *, preferences=None, password=None, rooms=None, status: int = 200):
    """The settings page, with the forms given (bound, with errors) and the others fresh."""
    context = {
        "preferences": preferences or PreferencesForm(initial=_saved(request.user)),
        "password": password or PasswordChangeForm(request.user),
        "rooms": rooms or RoomsNotifyForm(memberships=_memberships(request.user)),
    }
    return render(request, "charla/chat/settings.html", context, status=status)


def _saved(user) -> dict:
    saved = selectors.profile_of(user)
    return {"language": saved.language, "theme": saved.theme, "desktop_notifications": saved.desktop_notifications}


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    profile = selectors.profile_of(request.user)
    initial = {
        "language": profile.language,
        "theme": profile.theme,
        "desktop_notifications": profile.desktop_notifications,
    }
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not form.is_valid():
            return _page(request, preferences=form, status=400)
        profile = services.profile_update(user=request.user, **form.cleaned_data)
        if profile.language:
            translation.activate(profile.language)
        flash.success(request, _("Your settings are saved."))
        response = redirect("charla:settings")
        return remember_language(response, profile.language)
    return _page(request, preferences=form)


def remember_language(response, language: str):
    """The language Django's LocaleMiddleware reads (its cookie); none: the browser's again."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE or 365 * 24 * 3600,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response


@login_required
@require_http_methods(["POST"])
def password_change(request):
    """Change one's password inside Charla; this session stays logged in, the others end."""
    form = PasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        profile = selectors.profile_of(request.user)
        initial = {
            "language": profile.language,
            "theme": profile.theme,
            "desktop_notifications": profile.desktop_notifications,
        }
        return _page(request, preferences=PreferencesForm(initial=initial), password=form, status=400)
    user = form.save()
    update_session_auth_hash(request, user)
    flash.success(request, _("Your password is changed. Your other sessions have ended."))
    return redirect("charla:settings")


@login_required
@require_http_methods(["POST"])
def rooms_notify(request):
    """What of each room reaches the person: every message, mentions only, or nothing (muted)."""
    form = RoomsNotifyForm(request.POST, memberships=_memberships(request.user))
    if not form.is_valid():
        return _page(request, rooms=form, status=400)
    services.rooms_notify_set(user=request.user, levels=form.levels())
    flash.success(request, _("Your settings are saved."))
    return redirect("charla:settings")
