"""Notification pages and endpoints; the live feed is the /ws/notifications/ socket."""

import json

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from charla.notifications import protocol, services
from charla.notifications.forms import AnnouncementForm
from charla.notifications.models import Announcement, Notification


@login_required
def notification_list(request):
    page = Paginator(Notification.objects.for_user(request.user), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "charla/notifications/list.html",
        {"page": page, "unread": services.unread_count(request.user)},
    )


@login_required
@require_POST
def mark_read(request):
    """Mark notifications read: form or JSON `{"ids": [...], "anuncios": [...]}`, or all of them."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
            ids, announcements = _int_list(data.get("ids")), _int_list(data.get("anuncios"))
        except (ValueError, AttributeError):
            return JsonResponse({"error": _('Expected {"ids": [...], "anuncios": [...]}.')}, status=400)
    else:
        raw = request.POST.getlist("id")
        # No id: mark all. Ids, even malformed ones: only the valid ones (never "all" by accident).
        ids = [int(i) for i in raw if i.isascii() and i.isdigit()] if raw else None
        announcements = None
    every = ids is None and announcements is None
    marked = services.mark_read(request.user, ids=None if every else ids or [], announcement_ids=announcements)
    if request.content_type == "application/json":
        return JsonResponse({"marcadas": marked, "no_leidas": services.unread_count(request.user)})
    return redirect("charla:notification_list")


def _int_list(value):
    if value is None:
        return None
    if not isinstance(value, list) or not all(type(v) is int for v in value) or len(value) > 1000:
        raise ValueError(value)
    return value


def _is_staff(user) -> bool:
    return user.is_authenticated and user.is_staff


@require_POST
def announce_endpoint(request):
    """The tutorial's JSON endpoint: staff POST titulo, mensaje, prioridad; answers {"status": "enviado"}."""
    if not _is_staff(request.user):
        return JsonResponse({"error": "No autorizado"}, status=403)
    data = request.POST
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
            assert isinstance(data, dict)
        except (ValueError, AssertionError):
            return JsonResponse({"error": _("Invalid JSON.")}, status=400)
    form = AnnouncementForm(data)
    if not form.is_valid():
        return JsonResponse({"error": form.errors.get_json_data()}, status=400)
    services.announce(
        form.cleaned_data["titulo"],
        form.cleaned_data["mensaje"],
        priority=form.cleaned_data["prioridad"],
        author=request.user,
    )
    return JsonResponse({"status": "enviado"})


@login_required
@require_http_methods(["GET", "POST"])
def announce_page(request):
    """Staff write announcements here, and see who has read the recent ones."""
    if not request.user.is_staff:
        return render(request, "charla/notifications/forbidden.html", status=403)
    form = AnnouncementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.announce(
            form.cleaned_data["titulo"],
            form.cleaned_data["mensaje"],
            priority=form.cleaned_data["prioridad"],
            author=request.user,
        )
        flash.success(request, _("Announcement sent."))
        return redirect("charla:announce")
    recent = Announcement.objects.select_related("author")[:20]
    return render(request, "charla/notifications/announce.html", {"form": form, "announcements": recent})


@login_required
def announcement_readers(request, pk):
    """Staff: who has read an announcement, and who has not yet."""
    if not request.user.is_staff:
        return render(request, "charla/notifications/forbidden.html", status=403)
    announcement = get_object_or_404(Announcement, pk=pk)
    deliveries = announcement.deliveries.select_related("recipient").order_by("read_at", "recipient__username")
    return render(
        request,
        "charla/notifications/readers.html",
        {
            "announcement": announcement,
            "read": [d for d in deliveries if d.read_at],
            "unread": [d for d in deliveries if not d.read_at],
            "priority": protocol.PRIORITY_TO_WIRE[announcement.priority],
        },
    )
