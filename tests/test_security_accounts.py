"""Accounts against an outside attacker: usernames, login throttling, password reset without mail."""

from __future__ import annotations

import http.cookiejar
import io
import re
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.conf import global_settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from charla.chat.mentions import MENTION

PASSWORD = "a-Long-pass-93"


def signup(client: Client, username: str):
    return client.post("/signup/", {"username": username, "password1": PASSWORD, "password2": PASSWORD})


def login_post(client: Client, username: str, password: str, path: str = "/accounts/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# 1. A taken username is a form error, in any case.


@pytest.mark.parametrize("name", ["ana", "Ana", "ANA"])
@pytest.mark.django_db
def test_signup_with_a_taken_username_is_refused_with_a_form_error(ana, client, django_user_model, name):
    response = signup(client, name)
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == ["A user with that username already exists."]
    assert django_user_model.objects.filter(username__iexact="ana").count() == 1
    assert not logged_in(client)


# 2. Usernames that could pass for someone else's.


@pytest.mark.parametrize(
    "name",
    [
        "\u0430lice",  # Cyrillic а
        "\u0251lice",  # Latin alpha ɑ: Latin script, yet it reads as a
        "al\u0131ce",  # dotless ı
        "ali\u200bce",  # zero-width space
        "ali\u00a0ce",  # no-break space
        "\u03b1lice",  # Greek alpha
        "al1ce\u2024",  # one dot leader
        "alice.",  # could not be @mentioned (the mention stops before the dot)
        "a@b",
        "a+b",
        "名前",
    ],
)
@pytest.mark.django_db
def test_signup_refuses_names_outside_the_confusable_safe_set(client, django_user_model, name):
    response = signup(client, name)
    assert response.status_code == 200 and "username" in response.context["form"].errors
    assert not django_user_model.objects.filter(username=name).exists()
    with pytest.raises(ValidationError):
        django_user_model.objects.create_user(username=name, password=PASSWORD)


@pytest.mark.parametrize("name", ["José", "Núñez", "ÁNGELA", "ana.luis", "a_b-c", "çà", "x1", "Ünal-2"])
@pytest.mark.django_db
def test_latin_names_with_accents_are_accepted_and_stay_mentionable(client, django_user_model, name):
    assert signup(client, name).status_code == 302
    assert django_user_model.objects.filter(username=name).exists()
    assert MENTION.findall(f"hola @{name}, ¿qué tal?") == [name]


def test_every_accented_latin_letter_allowed_is_mentionable():
    from charla.chat.usernames import is_accented_latin_letter

    letters = [chr(c) for c in range(0x80, 0x2000) if is_accented_latin_letter(chr(c))]
    assert len(letters) > 300 and "ñ" in letters and "É" in letters
    for letter in letters:
        name = unicodedata.normalize("NFC", f"a{letter}")
        assert MENTION.findall(f"@{name}") == [name], letter


@pytest.mark.parametrize(
    ("taken", "name"),
    [
        ("alice", "Alice"),
        ("alice", "ALICE"),
        ("Ángel", "ángel"),  # non-ASCII case: SQLite's LIKE would miss it
        ("lola", "IoIa"),  # capital I for l
        ("lola", "l0la"),  # zero for o
        ("bob1", "bobl"),
        ("alice", "\uff41lice"),  # fullwidth a: normalized to alice, which is taken
    ],
)
@pytest.mark.django_db
def test_a_name_that_looks_like_a_taken_one_is_refused(client, make_user, django_user_model, taken, name):
    make_user(taken)
    response = signup(client, name)
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == ["A user with that username already exists."]
    with pytest.raises(ValidationError):
        django_user_model.objects.create_user(username=name, password=PASSWORD)
    assert django_user_model.objects.count() == 1


@pytest.mark.django_db
def test_renaming_a_user_follows_the_rules(ana, luis):
    luis.username = "\u0430na"
    with pytest.raises(ValidationError):
        luis.save()
    luis.username = "ANA"
    with pytest.raises(ValidationError):
        luis.save()
    luis.username = "luisito"
    luis.save()


@pytest.mark.django_db
def test_users_named_before_the_rules_keep_working(django_user_model, client):
    # bulk_create sends no pre_save: a name from before the rules, and its lookalike.
    django_user_model.objects.bulk_create([django_user_model(username="old+name"), django_user_model(username="Pepe")])
    django_user_model.objects.bulk_create([django_user_model(username="pepe")])
    for user in django_user_model.objects.all():
        user.set_password(PASSWORD)
        user.first_name = "still here"
        user.save()
        assert login_post(client, user.username, PASSWORD).status_code == 302
        client.logout()


@pytest.mark.django_db
def test_demo_users_are_created_and_refreshed(django_user_model):
    call_command("load_demo", "--force", stdout=io.StringIO())
    call_command("load_demo", "--force", stdout=io.StringIO())
    assert set(django_user_model.objects.values_list("username", flat=True)) >= {"ana", "luis"}


# 3. Login throttling.


@pytest.fixture
def throttle(settings):
    settings.AXES_FAILURE_LIMIT = 5
    return settings


def assert_locked_page(response, language: str = "en"):
    assert response.status_code == 429
    text = response.content.decode()
    expected = {"en": "try again in 15 minutes", "es": "vuelve a intentarlo dentro de 15 minutos"}[language]
    assert expected in text
    assert 'class="auth-card card"' in text and 'class="brand-name">Charla<' in text  # a Charla page


@pytest.mark.django_db
def test_failed_logins_lock_the_account_and_the_right_password_is_refused(throttle, ana, client):
    for _ in range(4):
        assert login_post(client, "ana", "wrong").status_code == 200
    assert_locked_page(login_post(client, "ana", "wrong"))  # the fifth failure locks
    assert_locked_page(login_post(client, "ana", "pw-ana"))
    assert not logged_in(client)


@pytest.mark.django_db
def test_the_lockout_page_is_translated(throttle, ana, client):
    for _ in range(5):
        login_post(client, "ana", "wrong")
    assert_locked_page(login_post(client, "ana", "pw-ana", HTTP_ACCEPT_LANGUAGE="es"), language="es")


@pytest.mark.django_db
def test_an_account_is_locked_from_every_address(throttle, ana, luis, client):
    for i in range(5):
        login_post(client, "ana", "wrong", REMOTE_ADDR=f"203.0.113.{i}")
    assert_locked_page(login_post(client, "ana", "pw-ana", REMOTE_ADDR="198.51.100.1"))
    assert login_post(client, "luis", "pw-luis", REMOTE_ADDR="198.51.100.1").status_code == 302


@pytest.mark.django_db
def test_an_address_is_locked_for_every_account(throttle, ana, luis, client):
    for i in range(5):
        # Without a proxy, X-Forwarded-For is the client's own invention: it changes nothing.
        login_post(client, f"guess{i}", "wrong", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert_locked_page(login_post(client, "luis", "pw-luis", REMOTE_ADDR="203.0.113.9"))
    assert login_post(client, "luis", "pw-luis", REMOTE_ADDR="198.51.100.1").status_code == 302


@pytest.mark.django_db
def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(throttle, ana, luis, client):
    throttle.CHARLA_BEHIND_TLS_PROXY = True
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for i in range(5):
        login_post(client, f"guess{i}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.9", **proxy)
    assert_locked_page(login_post(client, "luis", "pw-luis", HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy))
    # Everyone else behind the same proxy can still log in.
    assert login_post(client, "luis", "pw-luis", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy).status_code == 302


@pytest.mark.django_db
def test_the_admin_login_is_throttled_too(throttle, make_user, client):
    make_user("boss", is_staff=True, is_superuser=True)
    for _ in range(4):
        assert login_post(client, "boss", "wrong", path="/admin/login/").status_code == 200
    assert_locked_page(login_post(client, "boss", "wrong", path="/admin/login/"))
    assert_locked_page(login_post(client, "boss", "pw-boss", path="/admin/login/"))
    assert not logged_in(client)


@pytest.mark.django_db
def test_the_lockout_ends_after_the_cool_off(throttle, ana, client):
    from axes.models import AccessAttempt

    for _ in range(6):
        login_post(client, "ana", "wrong")
    assert login_post(client, "ana", "pw-ana").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    assert login_post(client, "ana", "pw-ana").status_code == 302 and logged_in(client)


@pytest.mark.django_db
def test_operators_lift_lockouts_with_axes_reset(throttle, ana, client):
    for _ in range(5):
        login_post(client, "ana", "wrong")
    call_command("axes_reset", stdout=io.StringIO())
    assert login_post(client, "ana", "pw-ana").status_code == 302


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _post_login(opener, base: str, username: str, password: str) -> tuple[int, str]:
    """A browser's login: fetch the form (CSRF cookie and token), post it; the status and page."""
    page = opener.open(f"{base}/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    try:
        with opener.open(f"{base}/accounts/login/", data.encode(), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.processes
def test_a_server_locks_out_a_password_guesser_until_the_cool_off_ends(charla_servers, make_user, settings):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # the server knows only these
    make_user("ana")
    cool_off = 4
    (server,) = charla_servers(1, CHARLA_LOGIN_FAILURE_LIMIT="5", CHARLA_LOGIN_LOCKOUT_SECONDS=str(cool_off))
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)

    answers = [_post_login(opener, server.http, "ana", f"guess-{i}") for i in range(30)]
    codes = [code for code, _ in answers]
    assert codes[:4] == [200] * 4 and set(codes[4:]) == {429}, codes
    code, page = _post_login(opener, server.http, "ana", "pw-ana")
    assert code == 429 and "try again in 1 minute." in page and 'class="brand-name">Charla<' in page
    time.sleep(cool_off + 1)
    assert _post_login(opener, server.http, "ana", "pw-ana")[0] == 302


# 4. Password reset only with mail.


@pytest.mark.django_db
def test_without_mail_password_reset_is_neither_offered_nor_served(client, make_user):
    make_user("ana", email="ana@example.com")
    assert "password_reset" not in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/password_reset/").status_code == 404
    assert client.post("/accounts/password_reset/", {"email": "ana@example.com"}).status_code == 404
    assert client.get("/accounts/password_reset/done/").status_code == 404
    assert client.get("/accounts/reset/MQ/set-password/").status_code == 404
    assert client.get("/accounts/reset/done/").status_code == 404
    assert mail.outbox == []


@pytest.mark.django_db
def test_with_mail_a_password_is_reset_end_to_end(client, make_user, settings):
    settings.CHARLA_EMAIL_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_user("ana", email="ana@example.com")
    login_page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in login_page

    response = client.post("/accounts/password_reset/", {"email": "ana@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password_reset/done/"
    assert client.get(response["Location"]).status_code == 200
    (message,) = mail.outbox
    assert message.to == ["ana@example.com"] and message.from_email == settings.DEFAULT_FROM_EMAIL
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

    form_url = client.get(link)["Location"]  # the token moves into the session
    response = client.post(form_url, {"new_password1": "n3w-Secret-pass", "new_password2": "n3w-Secret-pass"})
    assert response.status_code == 302 and client.get(response["Location"]).status_code == 200
    assert login_post(Client(), "ana", "n3w-Secret-pass").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["\u0430lice", "sala", "alice.", "ALICE"])
def test_the_admin_refuses_unsafe_usernames_as_form_errors(admin_client, make_user, name):
    make_user("alice")
    answer = admin_client.post(
        "/admin/auth/user/add/", {"username": name, "usable_password": "false", "password1": "", "password2": ""}
    )
    assert answer.status_code == 200, "a form error, not a 500"
    assert "errornote" in answer.content.decode() or "errorlist" in answer.content.decode()
    assert not User.objects.filter(username=name).exists()


@pytest.mark.django_db
def test_the_admin_still_adds_a_safe_username(admin_client):
    answer = admin_client.post(
        "/admin/auth/user/add/", {"username": "rosa", "usable_password": "false", "password1": "", "password2": ""}
    )
    assert answer.status_code == 302
    assert User.objects.filter(username="rosa").exists()
