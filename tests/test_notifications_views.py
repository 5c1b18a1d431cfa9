"""Notification pages and endpoints, the admin, the room page's read cursor, and the operator commands."""

import io
import json

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from charla.chat import services as chat_services
from charla.chat.models import Membership
from charla.notifications import api, services
from charla.notifications.models import Announcement, Notification
from tests.support.layer import drain, listen

pytestmark = pytest.mark.django_db

NOT_AUTHORIZED = {"error": "No autorizado"}
CSRF_SECRET = "abcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture
def staff(make_user):
    return make_user("jefa", is_staff=True)


def received(channel: str) -> list[dict]:
    return [json.loads(event["text"]) for event in drain(channel, 0.02)]


def post_json(client: Client, path: str, data, **extra):
    body = data if isinstance(data, str) else json.dumps(data)
    return client.post(path, body, content_type="application/json", **extra)


def post_announcement(client: Client, data: dict, as_json: bool):
    """POST to the tutorial's announcement endpoint as a form, or as JSON."""
    if as_json:
        return post_json(client, "/notifications/announce/send/", data)
    return client.post("/notifications/announce/send/", data)


def with_csrf_cookie(client: Client) -> dict:
    """Give the client a CSRF cookie and return the header a page's script would send with it."""
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return {"HTTP_X_CSRFTOKEN": CSRF_SECRET}


# Who may see what.


@pytest.mark.parametrize("path", ["/notifications/", "/notifications/announce/", "/notifications/announcements/1/"])
def test_anonymous_visitor_is_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_visitor_cannot_mark_anything_read(client, luis):
    api.notify_user(luis, "T", "M")
    response = post_json(client, "/notifications/read/", {})
    assert response.status_code == 302
    assert Notification.objects.unread().count() == 1


# The list page.


def test_list_shows_the_users_own_notifications_newest_first_with_the_unread_count(login, ana, luis):
    first = api.notify_user(luis, "primera", "m")
    second = api.notify_user(luis, "segunda", "m")
    api.notify_user(ana, "de ana", "m")
    services.mark_read(luis, ids=[first.pk])
    response = login(luis).get("/notifications/")
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [second, first]
    assert response.context["unread"] == 1


def test_list_pages_thirty_at_a_time(login, luis):
    for i in range(35):
        api.notify_user(luis, f"n{i}", "m")
    client = login(luis)
    assert len(client.get("/notifications/").context["page"].object_list) == 30
    assert [n.title for n in client.get("/notifications/?page=2").context["page"].object_list] == [
        f"n{i}" for i in range(4, -1, -1)
    ]


# Marking read.


def test_json_mark_read_marks_the_given_ids_and_answers_the_counts(login, luis):
    first, second, third = (api.notify_user(luis, f"n{i}", "m") for i in range(3))
    response = post_json(login(luis), "/notifications/read/", {"ids": [first.pk, third.pk]})
    assert response.status_code == 200 and response.json() == {"marcadas": 2, "no_leidas": 1}
    assert list(Notification.objects.unread()) == [second]


def test_json_mark_read_of_announcements_goes_by_announcement_id(login, ana, luis):
    announcement = api.announce("T", "M")
    other = api.announce("U", "M")
    response = post_json(login(luis), "/notifications/read/", {"anuncios": [announcement.pk]})
    assert response.json() == {"marcadas": 1, "no_leidas": 1}
    assert Notification.objects.get(recipient=luis, announcement=announcement).read_at is not None
    assert Notification.objects.get(recipient=luis, announcement=other).read_at is None
    assert Notification.objects.get(recipient=ana, announcement=announcement).read_at is None


def test_json_mark_read_with_an_empty_object_marks_everything(login, ana, luis):
    api.notify_user(luis, "a", "m")
    api.announce("b", "m")
    response = post_json(login(luis), "/notifications/read/", {})
    assert response.json() == {"marcadas": 2, "no_leidas": 0}
    assert Notification.objects.for_user(ana).unread().count() == 1


def test_json_mark_read_with_empty_lists_marks_nothing(login, luis):
    api.notify_user(luis, "a", "m")
    assert post_json(login(luis), "/notifications/read/", {"ids": []}).json() == {"marcadas": 0, "no_leidas": 1}
    assert post_json(login(luis), "/notifications/read/", {"ids": [], "anuncios": []}).json() == {
        "marcadas": 0,
        "no_leidas": 1,
    }


def test_json_mark_read_cannot_touch_another_users_notifications(login, ana, luis):
    hers = api.notify_user(ana, "T", "M")
    assert post_json(login(luis), "/notifications/read/", {"ids": [hers.pk]}).json() == {"marcadas": 0, "no_leidas": 0}
    assert Notification.objects.get().read_at is None


@pytest.mark.parametrize(
    "body", ["not json", "[1, 2]", '{"ids": "1"}', '{"ids": [true]}', '{"ids": ["1"]}', '{"anuncios": 3}']
)
def test_malformed_json_mark_read_is_a_400_and_marks_nothing(login, luis, body):
    api.notify_user(luis, "T", "M")
    response = post_json(login(luis), "/notifications/read/", body)
    assert response.status_code == 400 and "error" in response.json()
    assert Notification.objects.unread().count() == 1


def test_form_mark_read_marks_the_chosen_ones_and_returns_to_the_list(login, luis):
    first, second = api.notify_user(luis, "a", "m"), api.notify_user(luis, "b", "m")
    response = login(luis).post("/notifications/read/", {"id": [str(first.pk)]})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert list(Notification.objects.unread()) == [second]


def test_form_mark_read_without_ids_marks_everything(login, luis):
    api.notify_user(luis, "a", "m")
    api.notify_user(luis, "b", "m")
    assert login(luis).post("/notifications/read/").status_code == 302
    assert not Notification.objects.unread().exists()


def test_mark_read_only_accepts_post(login, luis):
    assert login(luis).get("/notifications/read/").status_code == 405


def test_mark_read_needs_the_csrf_token(login, luis):
    api.notify_user(luis, "T", "M")
    client = login(luis, enforce_csrf_checks=True)
    assert post_json(client, "/notifications/read/", {}).status_code == 403
    assert Notification.objects.unread().count() == 1
    response = post_json(client, "/notifications/read/", {}, **with_csrf_cookie(client))
    assert response.status_code == 200 and response.json() == {"marcadas": 1, "no_leidas": 0}


# The tutorial's JSON announcement endpoint.


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_announcement_endpoint_refuses_anonymous_visitors(client, luis, as_json):
    response = post_announcement(client, {"titulo": "T", "mensaje": "M", "prioridad": "alta"}, as_json)
    assert response.status_code == 403 and response.json() == NOT_AUTHORIZED
    assert not Announcement.objects.exists() and not Notification.objects.exists()


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_announcement_endpoint_refuses_users_who_are_not_staff(login, luis, as_json):
    response = post_announcement(login(luis), {"titulo": "T", "mensaje": "M"}, as_json)
    assert response.status_code == 403 and response.json() == NOT_AUTHORIZED
    assert not Announcement.objects.exists() and not Notification.objects.exists()


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_staff_announce_through_the_endpoint_to_every_active_user(
    login, staff, ana, luis, make_user, as_json, django_capture_on_commit_callbacks
):
    make_user("gone", is_active=False)
    client, data = login(staff), {"titulo": "Corte", "mensaje": "A las 22:00", "prioridad": "alta"}
    everyone = listen(services.EVERYONE)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_announcement(client, data, as_json)
    assert response.status_code == 200 and response.json() == {"status": "enviado"}
    announcement = Announcement.objects.get()
    assert (announcement.title, announcement.message, announcement.priority) == ("Corte", "A las 22:00", "high")
    assert announcement.author == staff
    assert sorted(announcement.deliveries.values_list("recipient__username", flat=True)) == ["ana", "jefa", "luis"]
    assert [(f["anuncio_id"], f["prioridad"]) for f in received(everyone)] == [(announcement.pk, "alta")]


def test_announcement_without_a_priority_is_normal(login, staff):
    login(staff).post("/notifications/announce/send/", {"titulo": "T", "mensaje": "M"})
    assert Announcement.objects.get().priority == "normal"


@pytest.mark.parametrize(
    "data",
    [
        {"titulo": "T", "mensaje": "M", "prioridad": "urgente"},
        {"titulo": "T", "mensaje": "M", "prioridad": "high"},
        {"mensaje": "M"},
        {"titulo": "T", "mensaje": ""},
        {"titulo": "x" * 201, "mensaje": "M"},
    ],
)
def test_invalid_announcement_is_a_400_and_sends_nothing(login, staff, data):
    response = post_json(login(staff), "/notifications/announce/send/", data)
    assert response.status_code == 400 and "error" in response.json()
    assert not Announcement.objects.exists()


@pytest.mark.parametrize("body", ["not json", "[1]"])
def test_announcement_endpoint_refuses_malformed_json(login, staff, body):
    response = post_json(login(staff), "/notifications/announce/send/", body)
    assert response.status_code == 400
    assert not Announcement.objects.exists()


def test_announcement_endpoint_only_accepts_post(login, staff):
    assert login(staff).get("/notifications/announce/send/").status_code == 405


def test_announcement_endpoint_needs_the_csrf_token_even_for_staff(login, staff):
    client = login(staff, enforce_csrf_checks=True)
    data = {"titulo": "T", "mensaje": "M"}
    assert post_json(client, "/notifications/announce/send/", data).status_code == 403
    assert not Announcement.objects.exists()
    response = post_json(client, "/notifications/announce/send/", data, **with_csrf_cookie(client))
    assert response.status_code == 200 and response.json() == {"status": "enviado"}
    assert Announcement.objects.count() == 1


def test_announcement_endpoint_refuses_non_staff_even_with_the_csrf_token(login, luis):
    client = login(luis, enforce_csrf_checks=True)
    response = post_json(
        client, "/notifications/announce/send/", {"titulo": "T", "mensaje": "M"}, **with_csrf_cookie(client)
    )
    assert response.status_code == 403 and response.json() == NOT_AUTHORIZED
    assert not Announcement.objects.exists()


# The announce page.


def test_announce_page_is_forbidden_to_users_who_are_not_staff(login, luis):
    client = login(luis)
    response = client.get("/notifications/announce/")
    assert response.status_code == 403
    response = client.post("/notifications/announce/", {"titulo": "T", "mensaje": "M", "prioridad": "alta"})
    assert response.status_code == 403
    assert not Announcement.objects.exists()


def test_announce_page_shows_staff_the_form_and_the_recent_announcements(login, staff):
    older, newer = api.announce("antes", "m"), api.announce("después", "m")
    response = login(staff).get("/notifications/announce/")
    assert response.status_code == 200
    assert set(response.context["form"].fields) == {"titulo", "mensaje", "prioridad"}
    assert set(response.context["announcements"]) == {older, newer}


def test_staff_announce_from_the_page(login, staff, luis, django_capture_on_commit_callbacks):
    everyone = listen(services.EVERYONE)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(staff).post("/notifications/announce/", {"titulo": "T", "mensaje": "M", "prioridad": "baja"})
    assert response.status_code == 302 and response["Location"] == "/notifications/announce/"
    announcement = Announcement.objects.get()
    assert announcement.priority == "low" and announcement.author == staff
    assert Notification.objects.filter(announcement=announcement, recipient=luis).exists()
    assert [f["titulo"] for f in received(everyone)] == ["T"]


def test_invalid_announcement_from_the_page_shows_the_errors_and_sends_nothing(login, staff):
    response = login(staff).post("/notifications/announce/", {"titulo": "", "mensaje": "M"})
    assert response.status_code == 200
    assert "titulo" in response.context["form"].errors
    assert not Announcement.objects.exists()


# Who has read an announcement.


def test_readers_page_is_forbidden_to_users_who_are_not_staff(login, luis):
    announcement = api.announce("T", "M")
    assert login(luis).get(f"/notifications/announcements/{announcement.pk}/").status_code == 403


def test_readers_page_shows_staff_who_has_read_an_announcement_and_who_has_not(login, staff, ana, luis):
    announcement = api.announce("T", "M", priority="high")
    services.mark_read(luis, announcement_ids=[announcement.pk])
    response = login(staff).get(f"/notifications/announcements/{announcement.pk}/")
    assert response.status_code == 200
    assert [d.recipient for d in response.context["read"]] == [luis]
    assert [d.recipient for d in response.context["unread"]] == [ana, staff]
    assert response.context["announcement"] == announcement and response.context["priority"] == "alta"


def test_readers_page_of_an_unknown_announcement_is_a_404(login, staff):
    assert login(staff).get("/notifications/announcements/999/").status_code == 404


# The admin.


def test_admin_add_announcement_is_out_of_reach_of_users_who_are_not_staff(login, luis):
    client = login(luis)
    response = client.get("/admin/charla_notifications/announcement/add/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.post("/admin/charla_notifications/announcement/add/", {"title": "T", "message": "M", "priority": "high"})
    assert not Announcement.objects.exists()


def test_staff_without_the_permission_cannot_add_announcements_in_the_admin(login, staff):
    client = login(staff)
    assert client.get("/admin/charla_notifications/announcement/add/").status_code == 403
    client.post("/admin/charla_notifications/announcement/add/", {"title": "T", "message": "M", "priority": "high"})
    assert not Announcement.objects.exists()


def test_adding_an_announcement_in_the_admin_sends_it_once_to_everyone(
    login, staff, luis, django_capture_on_commit_callbacks
):
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["add_announcement", "view_announcement"]))
    everyone = listen(services.EVERYONE)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(staff).post(
            "/admin/charla_notifications/announcement/add/", {"title": "Corte", "message": "Hoy", "priority": "high"}
        )
    assert response.status_code == 302
    announcement = Announcement.objects.get()
    assert (announcement.title, announcement.priority, announcement.author) == ("Corte", "high", staff)
    assert sorted(announcement.deliveries.values_list("recipient__username", flat=True)) == ["jefa", "luis"]
    assert [f["anuncio_id"] for f in received(everyone)] == [announcement.pk]


def test_admin_reminds_only_those_who_have_not_read_an_announcement(make_user, login, ana, luis):
    boss = make_user("boss", is_staff=True, is_superuser=True)
    announcement = api.announce("T", "M")
    services.mark_read(luis, announcement_ids=[announcement.pk])
    response = login(boss).post(
        "/admin/charla_notifications/announcement/",
        {"action": "send_again_to_unread", "_selected_action": [announcement.pk]},
    )
    assert response.status_code == 302
    reminded = Notification.objects.filter(kind=Notification.Kind.PERSONAL)
    assert sorted(reminded.values_list("recipient__username", flat=True)) == ["ana", "boss"]


# The room page: opening a room reads it.


def test_opening_a_room_resets_its_counts_and_passes_the_cursor_it_had(login, ana, luis):
    lobby = chat_services.room_create(creator=ana, name="lobby")
    chat_services.room_open(user=luis, name="lobby")
    chat_services.message_send(room=lobby, author=ana, content="uno")
    chat_services.room_mark_read(room=lobby, user=luis)
    chat_services.message_send(room=lobby, author=ana, content="@luis dos")
    chat_services.message_send(room=lobby, author=ana, content="tres")

    client = login(luis)
    listing = {room.name: (room.unread, room.mentions) for room in client.get("/").context["my_rooms"]}
    assert listing == {"lobby": (2, 1)}

    response = client.get("/rooms/lobby/")
    assert response.status_code == 200
    assert response.context["last_read_seq"] == 1, "the page jumps to the first unread message"
    assert {room.name: (room.unread, room.mentions) for room in response.context["my_rooms"]} == {"lobby": (0, 0)}
    assert Membership.objects.get(room=lobby, user=luis).last_read_seq == 3
    assert not Notification.objects.unread().exists()

    assert client.get("/rooms/lobby/").context["last_read_seq"] == 3


def test_opening_a_public_room_for_the_first_time_reads_it_all(login, ana, luis):
    lobby = chat_services.room_create(creator=ana, name="lobby")
    chat_services.message_send(room=lobby, author=ana, content="@luis ven")
    response = login(luis).get("/rooms/lobby/")
    assert response.context["last_read_seq"] == 0
    assert {room.name: (room.unread, room.mentions) for room in response.context["my_rooms"]} == {"lobby": (0, 0)}


# Signing up.


@pytest.mark.parametrize("name", ["sala", "Room"])
def test_signing_up_with_a_room_wide_mention_name_is_refused(client, django_user_model, name):
    response = client.post("/signup/", {"username": name, "password1": "x-Long-pass-93", "password2": "x-Long-pass-93"})
    assert response.status_code == 200 and "username" in response.context["form"].errors
    assert not django_user_model.objects.exists()


# Operator commands.


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_announce_command_stores_an_announcement_for_every_active_user(
    ana, luis, make_user, django_capture_on_commit_callbacks
):
    make_user("gone", is_active=False)
    everyone = listen(services.EVERYONE)
    with django_capture_on_commit_callbacks(execute=True):
        output = run("announce", "Corte", "A las 22:00", priority="high")
    announcement = Announcement.objects.get()
    assert (announcement.title, announcement.message, announcement.priority) == ("Corte", "A las 22:00", "high")
    assert sorted(announcement.deliveries.values_list("recipient__username", flat=True)) == ["ana", "luis"]
    assert "2 users" in output
    assert [f["prioridad"] for f in received(everyone)] == ["alta"]


def test_announce_command_from_the_command_line_syntax(ana):
    run("announce", "T", "M", "--priority", "low")
    assert Announcement.objects.get().priority == "low"
    run("announce", "U", "M")
    assert Announcement.objects.get(title="U").priority == "normal"


def test_announce_command_refuses_an_unknown_priority(ana):
    with pytest.raises(CommandError):
        run("announce", "T", "M", "--priority", "alta")
    assert not Announcement.objects.exists()


def test_notify_command_notifies_one_user_with_a_link(ana, luis, django_capture_on_commit_callbacks):
    pages = listen(services.user_group(luis.pk))
    with django_capture_on_commit_callbacks(execute=True):
        output = run("notify", "luis", "Despliegue", "v2.3 está en marcha", url="/x/")
    notification = Notification.objects.get()
    assert (notification.recipient, notification.title, notification.url) == (luis, "Despliegue", "/x/")
    assert "luis" in output
    assert [(f["titulo"], f["url"]) for f in received(pages)] == [("Despliegue", "/x/")]


def test_notify_command_refuses_an_unknown_user(ana):
    with pytest.raises(CommandError, match="nadie"):
        run("notify", "nadie", "T", "M")
    assert not Notification.objects.exists()


def test_a_form_with_only_malformed_ids_marks_nothing_read(login, luis):
    from charla.notifications import services

    first = services.notify_user(luis, "uno", "m")
    services.notify_user(luis, "dos", "m")
    response = login(luis).post("/notifications/read/", {"id": ["abc", "-1"]})
    assert response.status_code == 302
    assert services.unread_count(luis) == 2, "a malformed id must never mean 'mark everything'"
    login(luis).post("/notifications/read/", {"id": [str(first.pk)]})
    assert services.unread_count(luis) == 1
