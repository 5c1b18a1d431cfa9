"""The `followable` filter: whether a stored notification link may be shown as a link."""

from django import template

from charla.notifications.links import is_safe_link

register = template.Library()


@register.filter
def followable(url: str) -> bool:
    """A link stored before links were checked this strictly is shown as no link at all."""
    return is_safe_link(url or "")
