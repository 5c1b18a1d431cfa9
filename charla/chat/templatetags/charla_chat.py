"""Template tags of Charla's pages: where the sockets are, and the project's login page."""

from django import template
from django.conf import settings
from django.shortcuts import resolve_url

from charla.chat import selectors
from charla.realtime.paths import url_path

register = template.Library()


@register.simple_tag
def charla_socket_base() -> str:
    """The path the sockets live under ("/ws/" by default, CHARLA_WEBSOCKET_PREFIX)."""
    return url_path("")


@register.simple_tag(takes_context=True)
def charla_profile(context):
    """The signed-in person's settings (theme, desktop notifications), read once per request; None for a visitor."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if not hasattr(request, "_charla_profile"):
        request._charla_profile = selectors.profile_of(user)
    return request._charla_profile


@register.simple_tag
def charla_login_url() -> str:
    """The project's login page (settings.LOGIN_URL, a path or a URL name)."""
    return resolve_url(settings.LOGIN_URL)
