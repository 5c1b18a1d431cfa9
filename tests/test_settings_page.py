"""A person's own settings (issue 12): language, theme, desktop notifications, password; and
the rooms a new account joins."""

import pytest
from django.contrib.auth.models import User

from charla.chat import selectors, services
from charla.chat.models import Membership, Profile
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
