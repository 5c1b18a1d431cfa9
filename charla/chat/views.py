"""HTTP pages and the scroll-back endpoint; the chat itself runs over the WebSocket."""

from functools import wraps

from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from charla.chat import protocol, selectors, services
from charla.chat.errors import ActionError, RoomNotFound
from charla.chat.forms import InviteForm, RoomForm
from charla.chat.models import Membership, Room
from charla.conf import charla_settings


@login_required
def room_list(request):
    mine = Room.objects.joined_by(request.user).with_unread(request.user).order_by("name")
    others = Room.objects.public().exclude(memberships__user=request.user).order_by("name")
    return render(request, "charla/chat/room_list.html", {"my_rooms": mine, "public_rooms": others})


@login_required
@require_http_methods(["GET", "POST"])
def room_create(request):
    form = RoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            room = services.room_create(creator=request.user, **form.cleaned_data)
        except ValidationError as exc:
            # A taken name gets the same answer whether the room is public or private.
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return redirect("charla:room", room_name=room.name)
    return render(request, "charla/chat/room_form.html", {"form": form})


def room_page(view):
    """A room's page, or Charla's own "not found" page (404) for a room that does not exist or
    is private to others: the same answer for both, and never Django's debug page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except RoomNotFound:
            return render(request, "charla/chat/not_found.html", status=404)

    return wrapped


def _open_room(request, room_name: str) -> Room:
    return services.room_open(user=request.user, name=room_name)


@login_required
@room_page
def room(request, room_name):
    room = _open_room(request, room_name)
    # Opening a room reads it; the page jumps to what was unread until now.
    last_read_seq = services.room_mark_read(room=room, user=request.user)
    return render(
        request,
        "charla/chat/room.html",
        {
            "room": room,
            "last_read_seq": last_read_seq,
            "my_rooms": Room.objects.joined_by(request.user).with_unread(request.user).order_by("name"),
            "is_owner": selectors.is_owner(room=room, user=request.user),
            "message_max_chars": charla_settings.MESSAGE_MAX_CHARS,
            "history_size": charla_settings.HISTORY_SIZE,
        },
    )


@login_required
@require_GET
def room_messages(request, room_name):
    """Older messages for scroll-back: `?before=<message id>&limit=<1..100>`, oldest first."""
    room = Room.objects.visible_to(request.user).filter(name=room_name).first()
    if room is None:
        return JsonResponse({"error": _("Room not found.")}, status=404)
    try:
        before = _optional_int(request.GET.get("before"), minimum=1)
        limit = _optional_int(request.GET.get("limit"), minimum=1, maximum=charla_settings.PAGE_MAX)
    except ValueError:
        return JsonResponse(
            {
                "error": _("'before' and 'limit' must be positive whole numbers (limit at most %(max)d).")
                % {"max": charla_settings.PAGE_MAX}
            },
            status=400,
        )
    try:
        default = min(charla_settings.HISTORY_SIZE, charla_settings.PAGE_MAX)  # the history size, within the cap
        page, more = selectors.messages_before(room=room, before_id=before, limit=limit or default)
    except ActionError as exc:
        return JsonResponse({"error": exc.message}, status=404)
    return JsonResponse({"mensajes": [protocol.message_payload(m) for m in page], "hay_mas": more})


def _optional_int(value, *, minimum, maximum=None):
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise ValueError(value)
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        raise ValueError(value)
    return number


@login_required
@require_http_methods(["GET", "POST"])
@room_page
def room_members(request, room_name):
    room = _open_room(request, room_name)
    is_owner = selectors.is_owner(room=room, user=request.user)
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        if not is_owner:
            raise RoomNotFound
        if form.is_valid():
            services.member_add(room=room, actor=request.user, user=form.cleaned_data["username"])
            flash.success(request, _("%(user)s is now a member.") % {"user": form.cleaned_data["username"]})
            return redirect("charla:room_members", room_name=room.name)
    memberships = Membership.objects.filter(room=room).select_related("user").order_by("-role", "user__username")
    return render(
        request,
        "charla/chat/members.html",
        {"room": room, "memberships": memberships, "is_owner": is_owner, "form": form},
    )


@login_required
@require_POST
@room_page
def room_member_remove(request, room_name, user_id):
    room = _open_room(request, room_name)
    user = get_object_or_404(get_user_model(), pk=user_id)
    try:
        services.member_remove(room=room, actor=request.user, user=user)
    except ActionError as exc:
        flash.error(request, exc.message)
        return redirect("charla:room_members", room_name=room.name)
    if user.pk == request.user.pk:
        return redirect("charla:room_list")
    flash.success(request, _("%(user)s was removed.") % {"user": user})
    return redirect("charla:room_members", room_name=room.name)
