"""Charla's Python API for Django developers: notify a user or announce to everyone, from anywhere.

Views, signals, management commands and background tasks (Celery, RQ, ...) call the
sync functions; async code calls the `a`-prefixed ones. Every notification is stored
first and pushed to the user's open pages once the surrounding transaction commits;
inside a transaction that rolls back, nothing is stored and nothing is sent.

    from charla.notifications.api import notify_user, announce

    notify_user(order.customer, "Order shipped", f"Order {order.pk} is on its way", url=order.get_absolute_url())
    announce("Maintenance tonight", "Charla restarts at 22:00 UTC", priority="high")
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from charla.notifications import services
from charla.notifications.models import Announcement, Notification, Priority

__all__ = ["aannounce", "announce", "anotify_user", "notificar_usuario_especifico", "notify_user"]


def notify_user(user, title: str, message: str, url: str | None = None) -> Notification:
    """Notify one user (a user object or its primary key)."""
    if not isinstance(user, get_user_model()):
        user = get_user_model().objects.get(pk=user)
    return services.notify_user(user, title, message, url=url)


def announce(title: str, message: str, priority: str = Priority.NORMAL, author=None) -> Announcement:
    """Announce to every user who exists now; priority is 'high', 'normal' or 'low'."""
    return services.announce(title, message, priority=priority, author=author)


async def anotify_user(user, title: str, message: str, url: str | None = None) -> Notification:
    return await sync_to_async(notify_user)(user, title, message, url=url)


async def aannounce(title: str, message: str, priority: str = Priority.NORMAL, author=None) -> Announcement:
    return await sync_to_async(announce)(title, message, priority=priority, author=author)


def notificar_usuario_especifico(usuario_id, titulo: str, mensaje: str, url: str | None = None) -> Notification:
    """The tutorial's helper, kept as an alias of notify_user."""
    return notify_user(usuario_id, titulo, mensaje, url=url)
