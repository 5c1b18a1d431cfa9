"""Holes found from outside: headers, notification links, room names and the messages admin."""

import html
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from charla.chat import services
from charla.chat.models import Message, Room
from charla.notifications.api import notify_user
from charla.notifications.models import Notification
from tests.support.ws import connected_and_settled, receive_until

REPO_ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "chat.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://chat.example.com",
    "DJANGO_BEHIND_TLS_PROXY": "1",
}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` (manage.py if it starts with "check") in a new interpreter, with only `env` of our variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHARLA_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    clean.update(env)
    args = ["manage.py", *code.split()] if code.startswith("check") else ["-c", code]
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=clean, capture_output=True, text=True)


def csp_directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


# Headers.


def test_deploy_check_is_clean_with_the_production_settings():
    result = run_python("check --deploy --fail-level WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client, login, ana):
    for response in (client.get("/accounts/login/"), login(ana).get("/")):
        assert csp_directives(response) == {
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            "connect-src": "'self'",
            "img-src": "'self' data:",
            "object-src": "'none'",
            "base-uri": "'self'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        }


# Behind the TLS proxy, as the proxy forwards plain http and https requests.
BEHIND_PROXY = """
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from django.test import Client
client = Client(HTTP_HOST="chat.example.com")
for path, proto in [("/accounts/login/", "http"), ("/health/", "http"), ("/nowhere/", "https")]:
    r = client.get(path, headers={"X-Forwarded-Proto": proto})
    print(path, proto, r.status_code, r.get("Location"), r.get("Strict-Transport-Security"),
          "Content-Security-Policy" in r)
"""


def test_behind_the_tls_proxy_http_is_redirected_and_https_answers_carry_hsts():
    result = run_python(BEHIND_PROXY, **PRODUCTION, DJANGO_SSL_REDIRECT_EXEMPT=r"^health/$")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "/accounts/login/ http 301 https://chat.example.com/accounts/login/ None False",
        "/health/ http 404 None None True",  # exempted: a proxy's plain-http probe is answered
        "/nowhere/ https 404 None max-age=31536000; includeSubDomains True",
    ]


def test_development_has_no_redirect_and_no_hsts():
    code = "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='config.settings';django.setup();"
    code += "from django.conf import settings as s;print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    assert run_python(code).stdout.split() == ["False", "0"]


# Notification links.

HOSTILE_LINKS = [
    "/\\evil.example/",
    "/\\\\evil.example",
    "//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    "/rooms/a\x00b/",
    "/rooms/\x7f/",
    "/rooms/a b/",
    "/rooms/\u2028/",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "http:/\\evil.example",
    "https:\\\\evil.example",
    "http:evil.example",
    "http:///evil.example",
    "https://",
    "https://user@evil.example/",
    "ftp://files.example/",
    "rooms/general/",
    "?next=//evil.example",
    "#top",
]
SAFE_LINKS = ["/rooms/general/", "/notifications/?page=2#x", "https://status.example.com/", "HTTP://status.example/"]


@pytest.mark.django_db
@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_a_notification_link_that_could_leave_the_site_or_run_code_is_refused(ana, link):
    with pytest.raises(ValueError):
        notify_user(ana, "Hi", "there", url=link)
    assert not Notification.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("link", SAFE_LINKS)
def test_site_paths_and_web_addresses_are_accepted_as_notification_links(ana, link):
    assert notify_user(ana, "Hi", "there", url=link).url == link


@pytest.mark.django_db
def test_the_notifications_page_shows_no_link_for_a_hostile_one_stored_earlier(login, ana):
    Notification.objects.create(recipient=ana, kind="personal", title="Bad", url="/\\evil.example/")
    Notification.objects.create(recipient=ana, kind="personal", title="Good", url="/rooms/general/")
    page = html.unescape(login(ana).get("/notifications/").content.decode())
    assert 'href="/rooms/general/"' in page
    assert "evil.example" not in page


# Room names.


@pytest.fixture
def lobby(ana):
    return services.room_create(creator=ana, name="lobby", description="Everyone")


@pytest.fixture
def secret(ana):
    return services.room_create(creator=ana, name="secret", description="Launch plans for Q3", is_private=True)


def answer(client, name: str) -> tuple[int, str, dict]:
    """Status, page (with the name and the CSRF token blanked) and form errors of creating room `name`."""
    response = client.post("/rooms/new/", {"name": name})
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode()).replace(name, "NAME")
    return response.status_code, page, response.context["form"].errors.get_json_data()


@pytest.mark.django_db
def test_a_taken_name_gets_one_answer_whether_public_or_private_and_in_any_case(login, luis, lobby, secret):
    client = login(luis)
    answers = [answer(client, name) for name in ("lobby", "secret", "Secret", "LOBBY", "sEcReT")]
    status, page, errors = answers[0]
    assert status == 200 and list(errors) == ["name"]
    assert errors["name"][0]["message"] == "A room with this name already exists."
    assert all(a == answers[0] for a in answers[1:])
    assert "Launch plans for Q3" not in page
    assert Room.objects.count() == 2


@pytest.mark.django_db
def test_names_differing_only_in_case_cannot_both_exist(ana, secret):
    with pytest.raises(ValidationError) as caught:
        services.room_create(creator=ana, name="SECRET")
    assert caught.value.message_dict == {"name": ["A room with this name already exists."]}
    with pytest.raises(IntegrityError), transaction.atomic():
        Room.objects.create(name="Secret")
    assert list(Room.objects.values_list("name", flat=True)) == ["secret"]


@pytest.mark.django_db
def test_room_addresses_are_the_exact_name(login, ana, lobby):
    """A name in another case is no address: /rooms/LOBBY/ is a 404, never another room."""
    client = login(ana)
    assert client.get("/rooms/lobby/").status_code == 200
    assert client.get("/rooms/LOBBY/").status_code == 404


@pytest.mark.django_db
def test_create_room_command_answers_a_taken_private_name_like_any_other(ana, lobby, secret):
    errors = []
    for name in ("lobby", "Secret"):
        with pytest.raises(CommandError) as caught:
            call_command("create_room", name, owner="ana")
        errors.append(str(caught.value))
    assert errors == ["name: A room with this name already exists."] * 2


@pytest.mark.django_db(transaction=True)
def test_migration_renames_later_names_that_differ_only_in_case():
    executor = MigrationExecutor(connection)
    executor.migrate([("charla", "0001_initial")])
    OldRoom = executor.loader.project_state([("charla", "0001_initial")]).apps.get_model("charla", "Room")
    for name in ("secret", "General", "Secret", "SECRET", "secret-2", "general"):
        OldRoom.objects.create(name=name)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    names = list(Room.objects.order_by("pk").values_list("name", flat=True))
    assert names == ["secret", "General", "Secret-3", "SECRET-4", "secret-2", "general-2"]


# The messages admin.


@pytest.fixture
def admin_user(make_user):
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.mark.django_db
def test_messages_cannot_be_added_or_changed_in_the_admin(login, ana, lobby, admin_user):
    message, _ = services.message_send(room=lobby, author=ana, content="as sent")
    client = login(admin_user)
    assert client.get("/admin/charla/message/add/").status_code == 403
    assert client.post("/admin/charla/message/add/", {"room": lobby.pk, "content": "x"}).status_code == 403
    page = client.get(f"/admin/charla/message/{message.pk}/change/")
    assert page.status_code == 200 and "as sent" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/charla/message/{message.pk}/change/", {"content": "forged"}).status_code == 403
    assert client.get(f"/admin/charla/message/{message.pk}/delete/").status_code == 403
    message.refresh_from_db()
    assert message.content == "as sent" and Message.objects.count() == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_deleting_in_the_admin_takes_a_new_number_and_reaches_the_rooms_sockets(
    ws_connect, login, ana, admin_user
):
    room = await sync_to_async(services.room_create)(creator=ana, name="lobby")
    message, _ = await sync_to_async(services.message_send)(room=room, author=ana, content="spam")
    socket, connected, _ = await ws_connect(ana, "lobby")
    assert connected
    await connected_and_settled(socket)

    def delete_in_admin():
        return login(admin_user).post(
            "/admin/charla/message/", {"action": "delete_for_everyone", "_selected_action": [message.pk]}
        )

    response = await sync_to_async(delete_in_admin)()
    assert response.status_code == 302
    assert await receive_until(socket, "mensaje_eliminado") == {"type": "mensaje_eliminado", "id": message.pk, "seq": 2}
    await sync_to_async(message.refresh_from_db)()
    assert message.deleted and message.content == "" and message.updated_seq == 2
    await sync_to_async(room.refresh_from_db)()
    assert room.last_seq == 2
