"""The HTTP pages and the scroll-back endpoint, through Django's test client."""

import html

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from charla.chat import selectors, services
from charla.chat.models import Membership, Room

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def lobby(ana):
    return services.room_create(creator=ana, name="lobby", description="Everyone")


@pytest.fixture
def secret(ana):
    return services.room_create(creator=ana, name="secret", description="Launch plans for Q3", is_private=True)


def text(response) -> str:
    """The page as a reader sees it (entities decoded)."""
    return html.unescape(response.content.decode())


def send(room, author, content):
    message, _ = services.message_send(room=room, author=author, content=content)
    return message


# Authentication.


@pytest.mark.parametrize(
    "path",
    ["/", "/rooms/new/", "/rooms/lobby/", "/rooms/lobby/messages/", "/rooms/lobby/members/"],
)
def test_anonymous_visitor_is_sent_to_log_in(client, lobby, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_signup_creates_the_user_and_logs_them_in(client):
    response = client.post(
        "/signup/", {"username": "nuevo", "password1": "una-clave-larga-42", "password2": "una-clave-larga-42"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert get_user_model().objects.filter(username="nuevo").exists()
    home = client.get("/")
    assert home.status_code == 200
    assert home.context["user"].get_username() == "nuevo"


def test_signup_with_mismatched_passwords_creates_nobody(client):
    response = client.post(
        "/signup/", {"username": "nuevo", "password1": "una-clave-larga-42", "password2": "otra-clave-larga-42"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not get_user_model().objects.filter(username="nuevo").exists()


def test_login_page_renders_and_logging_in_through_it_works(client, ana):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode() and 'name="password"' in page.content.decode()
    response = client.post("/accounts/login/", {"username": "ana", "password": "pw-ana"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_with_a_wrong_password_stays_logged_out(client, ana):
    response = client.post("/accounts/login/", {"username": "ana", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get("/").status_code == 302


# Room list.


def test_room_list_shows_my_rooms_and_public_rooms_but_not_others_private_rooms(login, ana, luis, make_user):
    carla = make_user("carla")
    services.room_create(creator=ana, name="ana-secret", is_private=True)
    services.room_create(creator=ana, name="lobby")
    services.room_create(creator=luis, name="luis-secret", description="Luis only", is_private=True)
    services.room_create(creator=carla, name="carla-pub")
    response = login(ana).get("/")
    assert response.status_code == 200
    assert [r.name for r in response.context["my_rooms"]] == ["ana-secret", "lobby"]
    assert [r.name for r in response.context["public_rooms"]] == ["carla-pub"]
    page = response.content.decode()
    for name in ("ana-secret", "lobby", "carla-pub"):
        assert f'data-room="{name}"' in page
    assert "luis-secret" not in page and "Luis only" not in page


def test_room_description_and_creator_name_are_escaped_in_the_room_list(login, django_user_model, luis):
    # Signup refuses such a name now; one from before the rules, or from another login backend, may exist.
    (author,) = django_user_model.objects.bulk_create([django_user_model(username=SCRIPT)])
    services.room_create(creator=author, name="xss", description=SCRIPT)
    page = login(luis).get("/").content.decode()
    assert 'data-room="xss"' in page
    assert SCRIPT not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2


# Creating rooms.


def test_creating_a_room_requires_a_csrf_token(login, ana):
    client = login(ana, enforce_csrf_checks=True)
    response = client.post("/rooms/new/", {"name": "dev-ops"})
    assert response.status_code == 403
    assert not Room.objects.exists()
    client.get("/rooms/new/")
    token = client.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = client.post("/rooms/new/", {"name": "dev-ops", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Room.objects.filter(name="dev-ops").exists()


def test_creating_a_room_takes_the_creator_into_it_as_owner(login, ana):
    response = login(ana).post("/rooms/new/", {"name": "dev-ops", "description": "Deploys", "is_private": "on"})
    assert response.status_code == 302 and response["Location"] == "/rooms/dev-ops/"
    room = Room.objects.get(name="dev-ops")
    assert room.is_private and room.description == "Deploys"
    assert Membership.objects.get(room=room, user=ana).role == Membership.Role.OWNER


def test_invalid_room_name_shows_a_form_error(login, ana):
    response = login(ana).post("/rooms/new/", {"name": "a b"})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert "Use only letters, digits, hyphens and underscores." in text(response)
    assert not Room.objects.exists()


def test_taken_name_gets_the_same_error_for_a_public_or_private_room_and_reveals_nothing(
    login, ana, luis, lobby, secret
):
    client = login(luis)
    errors = []
    for name in ("lobby", "secret"):
        response = client.post("/rooms/new/", {"name": name})
        assert response.status_code == 200
        errors.append(response.context["form"].errors.get_json_data())
        assert "Launch plans for Q3" not in text(response)
    assert errors[0] == errors[1]
    assert list(errors[0]) == ["name"]
    assert not selectors.is_member(room=secret, user=luis)
    assert client.get("/rooms/secret/").status_code == 404


def test_room_named_like_a_page_is_refused(login, ana):
    """/rooms/new/ is the create page, so a room named "new" could never be opened."""
    client = login(ana)
    response = client.post("/rooms/new/", {"name": "New"})
    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert not Room.objects.filter(name__iexact="new").exists()


# The room page.


def test_visiting_a_public_room_joins_it(login, luis, lobby):
    response = login(luis).get("/rooms/lobby/")
    assert response.status_code == 200
    assert selectors.is_member(room=lobby, user=luis)
    assert [r.name for r in response.context["my_rooms"]] == ["lobby"]


def test_non_member_gets_404_for_a_private_room(login, luis, secret):
    response = login(luis).get("/rooms/secret/")
    assert response.status_code == 404
    assert "Launch plans for Q3" not in text(response)
    assert not selectors.is_member(room=secret, user=luis)


def test_unknown_room_is_404(login, luis):
    assert login(luis).get("/rooms/nowhere/").status_code == 404


@pytest.mark.parametrize("path", ["/rooms/secret/", "/rooms/nowhere/", "/rooms/secret/members/"])
def test_a_room_one_may_not_see_is_charlas_own_404_page_even_in_debug(login, luis, secret, settings, path):
    """make run has debug on: Django's technical 404 page (URL patterns, settings hints) must not show."""
    settings.DEBUG = True
    response = login(luis).get(path)
    assert response.status_code == 404
    page = text(response)
    assert "Room not found" in page and "Back to rooms" in page
    assert "Django" not in page and "URLconf" not in page
    assert "Launch plans for Q3" not in page


def test_member_can_open_a_private_room(login, ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    response = login(luis).get("/rooms/secret/")
    assert response.status_code == 200
    assert response.context["room"] == secret


@pytest.mark.parametrize(
    "element_id",
    ["nombre-sala", "username", "mensajes", "form-mensaje", "input-mensaje", "estado-conexion", "usuarios-escribiendo"],
)
def test_room_page_has_the_tutorials_elements(login, ana, lobby, element_id):
    page = login(ana).get("/rooms/lobby/").content.decode()
    assert f'id="{element_id}"' in page


def test_room_page_tells_the_tutorials_client_the_room_and_user(login, ana, lobby):
    page = login(ana).get("/rooms/lobby/").content.decode()
    assert '<input type="hidden" id="nombre-sala" value="lobby">' in page
    assert '<input type="hidden" id="username" value="ana">' in page


# Scroll-back JSON.


def test_messages_page_back_by_id_oldest_first(login, ana, lobby):
    sent = [send(lobby, ana, f"m{i}") for i in range(1, 6)]
    client = login(ana)

    def page(query):
        response = client.get(f"/rooms/lobby/messages/?{query}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        data = response.json()
        return [m["contenido"] for m in data["mensajes"]], data["hay_mas"]

    assert page("limit=2") == (["m4", "m5"], True)
    assert page(f"before={sent[3].pk}&limit=2") == (["m2", "m3"], True)
    assert page(f"before={sent[1].pk}&limit=2") == (["m1"], False)
    assert page(f"before={sent[2].pk}") == (["m1", "m2"], False)


def test_messages_without_a_limit_return_a_history_sized_page(login, ana, lobby, settings):
    settings.CHARLA_HISTORY_SIZE = 3
    for i in range(1, 6):
        send(lobby, ana, f"m{i}")
    data = login(ana).get("/rooms/lobby/messages/").json()
    assert [m["contenido"] for m in data["mensajes"]] == ["m3", "m4", "m5"]
    assert data["hay_mas"] is True


def test_messages_endpoint_leaves_out_deleted_messages(login, ana, lobby):
    kept = send(lobby, ana, "kept")
    gone = send(lobby, ana, "gone")
    services.message_delete(room=lobby, user=ana, message_id=gone.pk)
    data = login(ana).get("/rooms/lobby/messages/").json()
    assert [m["id"] for m in data["mensajes"]] == [kept.pk]
    assert "gone" not in str(data)


@pytest.mark.parametrize("query", ["before=abc", "limit=0", "limit=1000", "limit=101", "before=-1", "limit=1.5"])
def test_malformed_paging_parameters_are_a_400(login, ana, lobby, query):
    send(lobby, ana, "hola")
    response = login(ana).get(f"/rooms/lobby/messages/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]


def test_largest_allowed_page_is_accepted(login, ana, lobby, settings):
    send(lobby, ana, "hola")
    response = login(ana).get(f"/rooms/lobby/messages/?limit={settings.CHARLA_PAGE_MAX}")
    assert response.status_code == 200


def test_a_page_without_limit_is_the_history_size_but_never_past_the_cap(login, ana, lobby, settings):
    settings.CHARLA_HISTORY_SIZE, settings.CHARLA_PAGE_MAX = 8, 5
    for i in range(12):
        send(lobby, ana, f"m{i}")
    page = login(ana).get("/rooms/lobby/messages/").json()
    assert [m["contenido"] for m in page["mensajes"]] == [f"m{i}" for i in range(7, 12)] and page["hay_mas"]
    settings.CHARLA_PAGE_MAX = 100
    assert len(login(ana).get("/rooms/lobby/messages/").json()["mensajes"]) == 8


def test_paging_from_an_unknown_message_is_a_json_404(login, ana, lobby, secret):
    elsewhere = send(secret, ana, "other room")
    client = login(ana)
    for before in (elsewhere.pk, elsewhere.pk + 1000):
        response = client.get(f"/rooms/lobby/messages/?before={before}")
        assert response.status_code == 404
        assert response.json()["error"]


def test_non_member_cannot_read_private_room_messages(login, ana, luis, secret):
    send(secret, ana, "the launch date is friday")
    response = login(luis).get("/rooms/secret/messages/")
    assert response.status_code == 404
    assert response.json()["error"]
    assert "friday" not in response.content.decode()


# Members.


def test_owner_invites_by_username_and_the_member_can_then_open_the_room(login, ana, luis, secret):
    response = login(ana).post("/rooms/secret/members/", {"username": "luis"})
    assert response.status_code == 302 and response["Location"] == "/rooms/secret/members/"
    assert selectors.is_member(room=secret, user=luis)
    assert login(luis).get("/rooms/secret/").status_code == 200


def test_inviting_an_unknown_username_shows_a_form_error(login, ana, secret):
    response = login(ana).post("/rooms/secret/members/", {"username": "nadie"})
    assert response.status_code == 200
    assert "No user with that name." in text(response)
    assert Membership.objects.filter(room=secret).count() == 1


def test_non_owner_cannot_invite(login, ana, luis, make_user, secret):
    carla = make_user("carla")
    services.member_add(room=secret, actor=ana, user=luis)
    response = login(luis).post("/rooms/secret/members/", {"username": "carla"})
    assert response.status_code == 404
    assert not selectors.is_member(room=secret, user=carla)


def test_members_page_lists_the_members(login, ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    response = login(luis).get("/rooms/secret/members/")
    assert response.status_code == 200
    assert [m.user.get_username() for m in response.context["memberships"]] == ["ana", "luis"]
    assert response.context["is_owner"] is False


def test_non_member_cannot_see_a_private_rooms_members(login, luis, secret):
    assert login(luis).get("/rooms/secret/members/").status_code == 404


def test_owner_removes_a_member_who_then_loses_access(login, ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    response = login(ana).post(f"/rooms/secret/members/{luis.pk}/remove/")
    assert response.status_code == 302 and response["Location"] == "/rooms/secret/members/"
    assert not selectors.is_member(room=secret, user=luis)
    assert login(luis).get("/rooms/secret/").status_code == 404


def test_removing_a_member_needs_a_post(login, ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    response = login(ana).get(f"/rooms/secret/members/{luis.pk}/remove/")
    assert response.status_code == 405
    assert selectors.is_member(room=secret, user=luis)


def test_removing_a_member_requires_a_csrf_token(login, ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    response = login(ana, enforce_csrf_checks=True).post(f"/rooms/secret/members/{luis.pk}/remove/")
    assert response.status_code == 403
    assert selectors.is_member(room=secret, user=luis)


def test_member_can_leave(login, ana, luis, secret):
    services.member_add(room=secret, actor=ana, user=luis)
    response = login(luis).post(f"/rooms/secret/members/{luis.pk}/remove/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert not selectors.is_member(room=secret, user=luis)


def test_member_cannot_remove_someone_else(login, ana, luis, make_user, secret):
    carla = make_user("carla")
    for user in (luis, carla):
        services.member_add(room=secret, actor=ana, user=user)
    response = login(luis).post(f"/rooms/secret/members/{carla.pk}/remove/", follow=True)
    assert "Only the room's owner can remove members." in text(response)
    assert selectors.is_member(room=secret, user=carla)


def test_owner_cannot_be_removed_and_is_told_so(login, ana, secret):
    response = login(ana).post(f"/rooms/secret/members/{ana.pk}/remove/", follow=True)
    assert response.redirect_chain == [("/rooms/secret/members/", 302)]
    assert "The room's owner cannot be removed." in text(response)
    assert selectors.is_owner(room=secret, user=ana)


def test_a_taken_room_name_reads_as_a_person_wrote_it_in_the_admins_form_too(lobby):
    """The admin's room form validates with the model field: not "Room with this Name already exists."."""
    from django.forms import modelform_factory

    form = modelform_factory(Room, fields=["name"])(data={"name": "lobby"})
    assert form.errors["name"] == ["A room with this name already exists."]
