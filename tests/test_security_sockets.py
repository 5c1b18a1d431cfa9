"""Sockets an attacker must not get or keep: foreign origins (charla.realtime.origin), sockets of a changed user."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import subprocess
import sys
import threading
from functools import partial
from http.cookies import SimpleCookie
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import global_settings
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from charla.chat import services
from charla.chat.batcher import get_batcher
from charla.chat.errors import ActionError
from charla.chat.models import Message
from charla.chat.storage import SendRequest
from tests.conftest import session_cookie
from tests.support.net import free_port
from tests.support.ws import connected_and_settled, receive, receive_until, send

NEW_PASSWORD = "Otra-Clave-Larga-2026"


@pytest.fixture
def general(ana, luis):
    room = services.room_create(creator=ana, name="general")
    services.room_open(user=luis, name="general")
    return room


async def open_socket(path: str, *, host: str, origin: str | None, scheme: str = "ws", user=None, extra=()):
    """A socket through config.asgi's whole stack with these handshake headers: (communicator, connected, code)."""
    from config.asgi import application

    headers = [(b"host", host.encode()), *extra]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if user is not None:
        cookie = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    communicator.scope["scheme"] = scheme
    connected, code = await communicator.connect(timeout=5)
    if connected:
        await communicator.disconnect()
    return communicator, connected, code


async def close_code(communicator: WebsocketCommunicator, timeout: float = 3) -> int:
    """The code the server closes with (frames before it are passed over), within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            output = await communicator.receive_output(timeout=timeout)
            if output["type"] == "websocket.close":
                return output.get("code", 1000)


# The Origin of the handshake.

HOST = "127.0.0.1:18080"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("host", "origin"),
    [
        (HOST, "http://127.0.0.1:18080"),
        (HOST, "HTTP://127.0.0.1:18080"),  # the same origin, however it is spelled
        ("LOCALHOST:18080", "http://localhost:18080"),
        ("127.0.0.1", "http://127.0.0.1:80"),  # the default port, said or not
    ],
)
async def test_charlas_own_origin_is_accepted(ana, host, origin):
    _, connected, code = await open_socket("/ws/notifications/", host=host, origin=origin, user=ana)
    assert connected, f"refused with {code}"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:18099",  # another port of the same host: another site's page
        "https://127.0.0.1:18080",  # another scheme
        "HTTP://LOCALHOST",
        "http://localhost:18080",  # an allowed host, but not the one the socket was opened on
        "http://127.0.0.1",
        "http://127.0.0.1:18080.evil.com",
        "http://127.0.0.1:18080@evil.com",
        "http://evil.com@127.0.0.1:18080",
        "http://127.0.0.1:18080/",
        "ws://127.0.0.1:18080",
        "http://evil.example",
        "null",
        "",
        None,
    ],
)
@pytest.mark.parametrize("path", ["/ws/chat/general/", "/ws/notifications/", "/ws/nowhere/"])
async def test_a_foreign_missing_or_null_origin_is_refused_at_the_handshake(ana, general, origin, path):
    _, connected, code = await open_socket(path, host=HOST, origin=origin, user=ana)
    assert not connected
    assert code not in (4401, 4403, 4404), "refused by the Origin check, before any consumer"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_secure_socket_wants_an_https_origin(ana):
    ok = await open_socket(
        "/ws/notifications/", host="127.0.0.1:18443", origin="https://127.0.0.1:18443", scheme="wss", user=ana
    )
    plain = await open_socket(
        "/ws/notifications/", host="127.0.0.1:18443", origin="http://127.0.0.1:18443", scheme="wss", user=ana
    )
    assert (ok[1], plain[1]) == (True, False)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("behind_proxy", "https_ok", "http_ok"), [(True, True, False), (False, False, True)])
async def test_x_forwarded_proto_counts_only_behind_the_tls_proxy(settings, ana, behind_proxy, https_ok, http_ok):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if behind_proxy else None
    proto = [(b"x-forwarded-proto", b"https")]
    https = await open_socket(
        "/ws/notifications/", host="chat.example.com", origin="https://chat.example.com", user=ana, extra=proto
    )
    http_ = await open_socket(
        "/ws/notifications/", host="chat.example.com", origin="http://chat.example.com", user=ana, extra=proto
    )
    assert (https[1], http_[1]) == (https_ok, http_ok)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("trusted", "origin", "accepted"),
    [
        ("https://chat.example.com", "https://chat.example.com", True),
        ("https://chat.example.com", "https://CHAT.example.com:443", True),
        ("https://chat.example.com", "https://chat.example.com:8443", False),
        ("https://chat.example.com", "http://chat.example.com", False),
        ("https://chat.example.com", "https://evil.example.com", False),
        ("https://*.example.com", "https://team.example.com", True),
        ("https://*.example.com", "https://example.com.evil.net", False),
    ],
)
async def test_csrf_trusted_origins_are_accepted_behind_a_proxy(settings, ana, trusted, origin, accepted):
    """Behind a TLS proxy that forwards to 127.0.0.1:8001, the public origin is a trusted one."""
    settings.CSRF_TRUSTED_ORIGINS = [trusted]
    _, connected, _ = await open_socket("/ws/notifications/", host="127.0.0.1:8001", origin=origin, user=ana)
    assert connected is accepted


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_host_outside_allowed_hosts_is_refused_even_with_its_own_origin(ana):
    """DNS rebinding: evil.example resolving to Charla must not make its page Charla's."""
    _, connected, _ = await open_socket(
        "/ws/notifications/", host="evil.example", origin="http://evil.example", user=ana
    )
    assert not connected


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


ATTACK_PAGE = """<!doctype html><meta charset="utf-8"><title>cute cats</title><script>
window.report = {done: false, sockets: {}};
function probe(name, url, frame) {
  return new Promise((resolve) => {
    const seen = {opened: false, frames: [], code: null};
    window.report.sockets[name] = seen;
    const ws = new WebSocket(url);
    ws.onopen = () => { seen.opened = true; if (frame) ws.send(JSON.stringify(frame)); };
    ws.onmessage = (event) => seen.frames.push(JSON.parse(event.data).type);
    ws.onclose = (event) => { seen.code = event.code; resolve(); };
    setTimeout(() => { ws.close(); resolve(); }, 4000);
  });
}
const base = "ws://127.0.0.1:CHARLA_PORT";
Promise.all([
  probe("chat", base + "/ws/chat/secreto/", {type: "mensaje", mensaje: "posted by the attacker"}),
  probe("notifications", base + "/ws/notifications/"),
]).then(() => { window.report.done = true; });
</script>"""


@pytest.fixture
def secreto(transactional_db, make_user):
    """Ana's private room with one message (made before Playwright's event loop starts in this thread)."""
    ana = make_user("ana")
    room = services.room_create(creator=ana, name="secreto", is_private=True)
    services.message_send(room=room, author=ana, content="the secret plan")
    return room


@pytest.mark.browser
def test_a_page_on_another_port_of_the_same_host_cannot_use_the_victims_session(
    secreto, charla_servers, browser, tmp_path
):
    """The attack as it was found: the victim, logged in to Charla, visits a page served from another port."""
    (server,) = charla_servers(1)
    site = tmp_path / "evil"
    site.mkdir()
    (site / "index.html").write_text(ATTACK_PAGE.replace("CHARLA_PORT", str(server.port)))
    evil = ThreadingHTTPServer(("127.0.0.1", free_port()), partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        from tests.support.browser import login

        login(page, server.http, "ana", "pw-ana")
        # The same script on Charla's own page connects: the victim's session works, only the origin differs.
        page.goto(server.http + "/rooms/")
        own = page.evaluate(
            """(url) => new Promise((resolve) => {
                const ws = new WebSocket(url);
                ws.onmessage = (event) => { resolve(JSON.parse(event.data).type); ws.close(); };
                ws.onclose = (event) => resolve('closed ' + event.code);
            })""",
            server.ws_url("secreto"),
        )
        assert own == "historial"

        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/index.html")
        page.wait_for_function("window.report.done", timeout=15_000)
        report = page.evaluate("window.report")
    finally:
        context.close()
        evil.shutdown()
        evil.server_close()
    for name, seen in report["sockets"].items():
        assert not seen["opened"] and seen["frames"] == [], f"the {name} socket was opened: {seen}"
    assert list(Message.objects.values_list("content", flat=True)) == ["the secret plan"]


# Sockets of a user who changed.


async def notifications_socket(user):
    from config.asgi import application
    from tests.conftest import ORIGIN

    cookie = await sync_to_async(session_cookie)(user)
    headers = [(b"host", b"127.0.0.1"), (b"origin", ORIGIN.encode())]
    headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
    assert (await communicator.connect(timeout=5))[0]
    await receive(communicator)  # its history
    return communicator


def change_password(user) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()


def deactivate(user) -> None:
    user.is_active = False
    user.save()


def delete(user) -> None:
    user.delete()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", [change_password, deactivate, delete])
async def test_a_password_change_deactivation_or_deletion_closes_the_users_sockets(
    ws_connect, ana, luis, general, change
):
    mine, *_ = await ws_connect(luis, "general")
    await connected_and_settled(mine)
    feed = await notifications_socket(luis)
    others, *_ = await ws_connect(ana, "general")
    await connected_and_settled(others)

    await sync_to_async(change)(luis)
    # Sent at once: whether it beats the close or not, it is not stored.
    await send(mine, {"type": "mensaje", "mensaje": "after the change"})
    assert await close_code(mine) == 4401
    assert await close_code(feed) == 4401
    assert not await sync_to_async(Message.objects.filter(content="after the change").exists)()

    # Only that user's sockets: ana goes on.
    await send(others, {"type": "mensaje", "mensaje": "still here"})
    assert (await receive_until(others, "mensaje"))["mensaje"]["contenido"] == "still here"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_other_changes_to_the_user_leave_the_sockets_open(ws_connect, ana, general):
    mine, *_ = await ws_connect(ana, "general")
    await connected_and_settled(mine)

    def rename():
        ana.first_name = "Ana"
        ana.save()
        ana.is_active = True  # already: no change
        ana.save(update_fields=["is_active"])

    await sync_to_async(rename)()
    assert await mine.receive_nothing(timeout=0.5)
    await send(mine, {"type": "mensaje", "mensaje": "hola"})
    assert (await receive(mine))["type"] == "mensaje"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_session_that_changed_its_password_reconnects_and_the_others_are_closed(
    ws_connect, login, ana, general
):
    client = await sync_to_async(login)(ana)
    cookie_name = django_settings.SESSION_COOKIE_NAME
    own, connected, _ = await ws_connect(None, "general", cookies={cookie_name: client.cookies[cookie_name].value})
    assert connected
    await connected_and_settled(own)
    other, *_ = await ws_connect(ana, "general")
    await connected_and_settled(other)

    response = await sync_to_async(client.post)(
        "/accounts/password_change/",
        {"old_password": "pw-ana", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content[:2000]
    assert await close_code(other) == 4401  # logged out there, as its HTTP requests are
    assert await close_code(own) == 4001  # renewed here: reconnect with the new cookie

    again, connected, code = await ws_connect(None, "general", cookies={cookie_name: client.cookies[cookie_name].value})
    assert connected, f"refused with {code}"
    await connected_and_settled(again)
    await send(again, {"type": "mensaje", "mensaje": "new password, same chat"})
    assert (await receive_until(again, "mensaje"))["mensaje"]["contenido"] == "new password, same chat"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stale", [{"is_active": False}, {"password": "changed elsewhere"}])
@pytest.mark.parametrize("action", ["mensaje", "editar", "eliminar"])
async def test_writes_are_refused_and_the_socket_closed_even_if_the_event_was_lost(
    ws_connect, ana, general, stale, action
):
    """QuerySet.update() sends no signal: the write path itself must notice."""
    mine, *_ = await ws_connect(ana, "general")
    await connected_and_settled(mine)
    message = await sync_to_async(services.message_send)(room=general, author=ana, content="original")
    await receive(mine)
    await sync_to_async(get_user_model().objects.filter(pk=ana.pk).update)(**stale)

    frames = {
        "mensaje": {"type": "mensaje", "mensaje": "refused", "client_id": "k-1"},
        "editar": {"type": "editar", "id": message[0].pk, "mensaje": "refused"},
        "eliminar": {"type": "eliminar", "id": message[0].pk},
    }
    await send(mine, frames[action])
    error = await receive(mine)
    assert (error["type"], error["code"]) == ("error", "unauthenticated")
    assert await close_code(mine) == 4401
    stored = await sync_to_async(lambda: list(Message.objects.values_list("content", "deleted")))()
    assert stored == [("original", False)]


@pytest.mark.django_db
@pytest.mark.parametrize("stale", [{"is_active": False}, {"password": "changed elsewhere"}])
def test_the_send_path_refuses_an_author_who_may_no_longer_act(ana, luis, general, stale):
    """A batch with a stale author and a good one: only the good one is stored (one statement on PostgreSQL)."""
    get_user_model().objects.filter(pk=ana.pk).update(**stale)
    refused, stored = services.messages_send(
        [SendRequest(general, ana, "from a stale socket", "k-1"), SendRequest(general, luis, "fine", "k-1")]
    )
    assert isinstance(refused, ActionError) and refused.code == "unauthenticated"
    assert stored[0].content == "fine"
    assert list(Message.objects.values_list("content", flat=True)) == ["fine"]
    with pytest.raises(ActionError) as edit:
        services.message_edit(room=general, user=ana, message_id=stored[0].pk, content="x")
    assert edit.value.code == "unauthenticated"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_batcher_refuses_an_inactive_author(ana, general):
    await sync_to_async(get_user_model().objects.filter(pk=ana.pk).update)(is_active=False)
    result = await get_batcher().send(SendRequest(general, ana, "hola"))
    assert isinstance(result, ActionError) and result.code == "unauthenticated"
    assert not await sync_to_async(Message.objects.exists)()


# Against real server processes sharing one Redis.


def http_form(server, path: str, cookies: dict[str, str], form: dict | None = None):
    """GET (or POST `form`) without following redirects: (status, body, cookies set)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request("GET" if form is None else "POST", path, body=urlencode(form) if form else None, headers=headers)
    response = connection.getresponse()
    body = response.read().decode()
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or ():
        jar.load(header)
    connection.close()
    return response.status, body, {name: morsel.value for name, morsel in jar.items()}


def change_password_over_http(server, session: str) -> str:
    """Django's password change view, as a browser uses it; returns the session's new key."""
    name = django_settings.SESSION_COOKIE_NAME
    status, page, set_cookies = http_form(server, "/accounts/password_change/", {name: session})
    assert status == 200, page[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookies = {name: session, django_settings.CSRF_COOKIE_NAME: set_cookies[django_settings.CSRF_COOKIE_NAME]}
    form = {
        "csrfmiddlewaretoken": token,
        "old_password": "pw-ana",
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    status, page, set_cookies = http_form(server, "/accounts/password_change/", cookies, form)
    assert status == 302, page[:2000]
    return set_cookies[name]


def run_in_django(code: str, server) -> None:
    """Run Python in a new Django process on the servers' database and Redis (as an admin's script would)."""
    from tests.support.servers import ROOT

    code = "from django.contrib.auth.models import User\n" + code
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=server.env, check=True, timeout=60)


async def closed_with(ws, timeout: float = 3) -> int:
    """The close code of a websockets client, passing over frames, within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else 1006


SCRIPTS = {
    "deactivate": "u = User.objects.get(username='ana'); u.is_active = False; u.save()",
    "delete": "User.objects.get(username='ana').delete()",
}


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["password", "deactivate", "delete"])
def test_a_change_on_one_process_closes_the_sockets_on_another(charla_servers, redis_url, settings, make_user, change):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # the servers check the old password
    ana = make_user("ana")
    luis = make_user("luis")
    services.room_create(creator=luis, name="general")
    services.room_open(user=ana, name="general")
    one, two = charla_servers(2, redis_url=redis_url)
    connect = one.connect(ana, "general")
    http_session = session_cookie(ana)

    async def scenario():
        async with connect as ws:
            await asyncio.wait_for(ws.recv(), 10)  # historial
            if change == "password":
                await asyncio.to_thread(change_password_over_http, two, http_session)
            else:
                await asyncio.to_thread(run_in_django, SCRIPTS[change], two)
            try:
                await ws.send(json.dumps({"type": "mensaje", "mensaje": "after the change"}))
            except websockets.ConnectionClosed:
                pass
            return await closed_with(ws)

    assert asyncio.run(scenario()) == 4401
    assert not Message.objects.filter(content="after the change").exists()


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_the_session_that_changed_its_password_keeps_chatting_across_processes(
    charla_servers, redis_url, settings, make_user
):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    ana = make_user("ana")
    services.room_create(creator=ana, name="general")
    one, two = charla_servers(2, redis_url=redis_url)
    session = session_cookie(ana)
    name = django_settings.SESSION_COOKIE_NAME

    def connect(server, key):
        return websockets.connect(
            server.ws_url("general"), origin=f"http://127.0.0.1:{server.port}",
            additional_headers={"Cookie": f"{name}={key}"}, open_timeout=10,
        )  # fmt: skip

    async def scenario():
        async with connect(one, session) as ws:
            await asyncio.wait_for(ws.recv(), 10)
            renewed = await asyncio.to_thread(change_password_over_http, two, session)
            assert await closed_with(ws) == 4001
        async with connect(one, renewed) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "historial"
            await ws.send(json.dumps({"type": "mensaje", "mensaje": "still me"}))
            while (frame := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "mensaje":
                pass
            assert frame["mensaje"]["contenido"] == "still me"

    asyncio.run(scenario())


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_after_a_password_change_its_browser_chats_on_and_another_is_logged_out(ana, charla_servers, browser):
    """The page's client treats 4001 as "reconnect" and 4401 as "log in again"."""
    from tests.support.browser import login

    services.room_create(creator=ana, name="general")
    (server,) = charla_servers(1)
    mine, elsewhere = browser.new_context(), browser.new_context()
    try:
        chats = []
        for context in (mine, elsewhere):
            page = context.new_page()
            login(page, server.http, "ana", "pw-ana")
            page.goto(f"{server.http}/rooms/general/")
            page.wait_for_selector("#estado-conexion.estado-success")
            chats.append(page)
        tab = mine.new_page()
        tab.goto(f"{server.http}/accounts/password_change/")
        tab.fill("#id_old_password", "pw-ana")
        tab.fill("#id_new_password1", NEW_PASSWORD)
        tab.fill("#id_new_password2", NEW_PASSWORD)
        tab.locator("form [type=submit]").first.click()
        tab.wait_for_url(re.compile(r".*/password_change/done/"))

        chats[1].locator(".fatal-notice").wait_for(timeout=5_000)
        chats[0].wait_for_timeout(2_000)  # its socket was renewed meanwhile
        assert chats[0].locator(".fatal-notice").count() == 0
        chats[0].wait_for_selector("#estado-conexion.estado-success")
        chats[0].fill("#input-mensaje", "new password, same tab")
        chats[0].press("#input-mensaje", "Enter")
        chats[0].locator("article.message:not(.pending)", has_text="new password, same tab").wait_for()
    finally:
        mine.close()
        elsewhere.close()
    assert Message.objects.filter(content="new password, same tab").exists()
