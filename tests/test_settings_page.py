"""A person's own settings (issue 12): language, theme, desktop notifications, password; and
the rooms a new account joins."""

import pytest
from django.contrib.auth.models import User

from charla.chat import selectors, services
from charla.chat.models import Membership, Profile, Room
from tests.test_commands import authenticate

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_of(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_the_settings_page_is_in_the_account_menu_and_shows_both_forms(client_of, ana):
    page = client_of(ana).get("/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="form-ajustes"' in html and 'id="form-clave"' in html
    home = client_of(ana).get("/").content.decode()
    assert 'id="menu-cuenta"' in home and 'href="/settings/"' in home


def test_saving_settings_keeps_them_and_the_page_follows(client_of, ana):
    client = client_of(ana)
    response = client.post("/settings/", {"language": "es", "theme": "dark", "desktop_notifications": ""})
    assert response.status_code == 302 and response["Location"] == "/settings/"
    assert response.cookies["django_language"].value == "es"
    profile = Profile.objects.get(user=ana)
    assert (profile.language, profile.theme, profile.desktop_notifications) == ("es", "dark", False)
    html = client.get("/").content.decode()
    assert 'data-theme="dark"' in html and 'lang="es"' in html
    assert 'data-desktop-wanted="off"' in html


def test_the_browsers_language_again_forgets_the_cookie(client_of, ana):
    client = client_of(ana)
    client.post("/settings/", {"language": "es", "theme": "system", "desktop_notifications": "on"})
    response = client.post("/settings/", {"language": "", "theme": "system", "desktop_notifications": "on"})
    assert response.cookies["django_language"].value == "" and response.cookies["django_language"]["max-age"] == 0


@pytest.mark.parametrize("field, value", [("theme", "neon"), ("language", "klingon")])
def test_a_setting_out_of_its_choices_is_refused_and_nothing_changes(client_of, ana, field, value):
    data = {"language": "", "theme": "light", "desktop_notifications": "on", field: value}
    response = client_of(ana).post("/settings/", data)
    assert response.status_code == 400
    assert response.context["preferences"].errors[field]
    assert not Profile.objects.filter(user=ana).exists()


def test_changing_ones_password_keeps_this_session_and_refuses_a_wrong_current_one(client_of, ana):
    client = client_of(ana)
    wrong = client.post(
        "/settings/password/",
        {"old_password": "nope", "new_password1": "a-New-pass-93", "new_password2": "a-New-pass-93"},
    )
    assert wrong.status_code == 400 and wrong.context["password"].errors["old_password"]
    right = client.post(
        "/settings/password/",
        {"old_password": "pw-ana", "new_password1": "a-New-pass-93", "new_password2": "a-New-pass-93"},
    )
    assert right.status_code == 302
    assert client.get("/settings/").status_code == 200, "this session stays logged in"
    assert authenticate(username="ana", password="a-New-pass-93") is not None
    assert authenticate(username="ana", password="pw-ana") is None


def test_settings_are_for_the_logged_in_only(client):
    assert client.get("/settings/")["Location"].startswith("/accounts/login/")
    assert client.post("/settings/password/", {})["Location"].startswith("/accounts/login/")


def test_a_new_account_joins_the_default_public_rooms_that_exist(ana, settings):
    general = services.room_create(creator=ana, name="General")
    services.room_create(creator=ana, name="random", is_private=True)
    settings.CHARLA_DEFAULT_ROOMS = ["general", "random", "nowhere"]
    newcomer = User.objects.create_user("nuevo", password="pw-nuevo-93")
    assert [m.room for m in Membership.objects.filter(user=newcomer)] == [general], "public ones only, any case"
    settings.CHARLA_DEFAULT_ROOMS = []
    loner = User.objects.create_user("solo", password="pw-solo-93")
    assert not Membership.objects.filter(user=loner).exists()


def test_someone_who_never_saved_settings_has_the_defaults(ana):
    profile = selectors.profile_of(ana)
    assert (profile.language, profile.theme, profile.desktop_notifications) == ("", "system", True)


# What each room sends: every message, mentions only, nothing.


def test_each_rooms_level_is_saved_and_a_room_one_is_not_in_is_ignored(client_of, ana, luis):
    general = services.room_create(creator=ana, name="general")
    ops = services.room_create(creator=ana, name="ops")
    secret = services.room_create(creator=luis, name="secret", is_private=True)
    client = client_of(ana)
    assert f'id="id_room-{general.pk}"' in client.get("/settings/").content.decode()
    response = client.post(
        "/settings/rooms/", {f"room-{general.pk}": "mentions", f"room-{ops.pk}": "nothing", f"room-{secret.pk}": "all"}
    )
    assert response.status_code == 302
    levels = dict(Membership.objects.filter(user=ana).values_list("room__name", "notify"))
    assert levels == {"general": "mentions", "ops": "nothing"}
    assert Membership.objects.get(user=luis, room=secret).notify == "all"


def test_an_unknown_level_is_refused(client_of, ana):
    general = services.room_create(creator=ana, name="general")
    response = client_of(ana).post("/settings/rooms/", {f"room-{general.pk}": "sometimes"})
    assert response.status_code == 400 and response.context["rooms"].errors
    assert Membership.objects.get(user=ana, room=general).notify == "all"


def test_the_room_list_counts_unread_only_where_the_person_wants_them(client_of, ana, luis):
    for name in ("loud", "quiet", "muted"):
        room = services.room_create(creator=ana, name=name)
        services.room_open(user=luis, name=name)
        services.room_mark_read(room=room, user=luis)
        services.message_send(room=room, author=ana, content=f"news in {name} for @luis")
    services.rooms_notify_set(
        user=luis,
        levels={r.pk: {"loud": "all", "quiet": "mentions", "muted": "nothing"}[r.name] for r in Room.objects.all()},
    )
    html = client_of(luis).get("/").content.decode()
    cards = {name: html[html.index(f'data-room="{name}"') :].split("</li>")[0] for name in ("loud", "quiet", "muted")}
    assert 'class="badge badge-unread" title="Unread messages">1' in cards["loud"]
    assert 'class="badge badge-unread" title="Unread messages" hidden' in cards["quiet"]
    assert 'class="badge badge-mention" title="Mentions of you">@1' in cards["quiet"]
    assert 'class="badge badge-mention" title="Mentions of you" hidden' in cards["muted"]
    assert "room-muted" in cards["muted"] and "room-muted" not in cards["quiet"]


def test_default_rooms_from_the_environment_are_a_comma_separated_list(ana, settings):
    services.room_create(creator=ana, name="general")
    services.room_create(creator=ana, name="random")
    settings.CHARLA_DEFAULT_ROOMS = "general, random"
    newcomer = User.objects.create_user("nuevo", password="pw-nuevo-93")
    assert sorted(m.room.name for m in Membership.objects.filter(user=newcomer)) == ["general", "random"]
