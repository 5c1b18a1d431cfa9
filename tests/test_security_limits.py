"""Limits against an outside attacker: typing floods, slow or silent connections, socket hoarding, @room fan-out."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import socket
import time
import urllib.request

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings

from charla.chat import services
from charla.chat.models import Message
from charla.notifications.models import Notification
from tests.conftest import ORIGIN, session_cookie
from tests.support.servers import recv_frame
from tests.support.ws import connected_and_settled, receive, receive_until, send

# Typing -------------------------------------------------------------------------------


@pytest.fixture
def room(ana):
    return services.room_create(creator=ana, name="limits")


async def frames_for(communicator, seconds: float) -> list[dict]:
    """Every frame a socket receives in the next `seconds` (a timed-out receive would cancel the application)."""
    frames, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not await communicator.receive_nothing(timeout=0.05, interval=0.01):
            frames.append(json.loads(await communicator.receive_from()))
    return frames


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_alternating_typing_frames_from_several_sockets_relay_one_change_per_window(
    ws_connect, ana, luis, room, settings
):
    settings.CHARLA_TYPING_INTERVAL = 1.0
    tabs = []
    for _ in range(2):  # one user's two tabs count together
        tab, *_ = await ws_connect(ana, "limits")
        await connected_and_settled(tab)
        tabs.append(tab)
    watcher, *_ = await ws_connect(luis, "limits")
    await connected_and_settled(watcher)
    for i in range(100):
        await send(tabs[i % 2], {"type": "escribiendo" if i % 4 < 2 else "dejar_escribir"})
    await send(tabs[0], {"type": "dejar_escribir"})
    typing = [f for f in await frames_for(watcher, 2.5) if f["type"] in {"escribiendo", "dejar_escribir"}]
    # One change relayed at once, then the latest state when the window ends: a stop, never a stale "typing".
    assert typing == [
        {"type": "escribiendo", "username": "ana"},
        {"type": "dejar_escribir", "username": "ana"},
    ]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_typist_who_keeps_typing_stays_shown_and_one_who_went_silent_is_stopped(
    ws_connect, ana, luis, room, settings, monkeypatch
):
    from charla.chat import typing_throttle

    settings.CHARLA_TYPING_INTERVAL = 0.2
    monkeypatch.setattr(typing_throttle, "TYPING_LAPSE", 0.6)
    typist, *_ = await ws_connect(ana, "limits")
    await connected_and_settled(typist)
    watcher, *_ = await ws_connect(luis, "limits")
    await connected_and_settled(watcher)
    await receive_until(typist, "usuario_unido")
    for _ in range(8):  # a keystroke every 0.1 s, as the tutorial's client sends them
        await send(typist, {"type": "escribiendo"})
        await asyncio.sleep(0.1)
    frames = [f["type"] for f in await frames_for(watcher, 1.2)]
    assert frames.count("escribiendo") >= 2, "typing is refreshed while it goes on"
    assert frames[-1] == "dejar_escribir", "a typist whose sockets fell silent is relayed as stopped"


# Sockets per user ---------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_whose_connect_fails_half_way_gives_its_place_back(ws_connect, ana, room, settings, monkeypatch):
    from charla.realtime import socket_limit

    settings.CHARLA_MAX_SOCKETS_PER_USER = 2

    def database_away(**kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr(services, "room_open", database_away)
    for _ in range(3):
        _, connected, _ = await ws_connect(ana, "limits")
        assert not connected
    assert socket_limit.open_sockets(ana.pk) == 0
    monkeypatch.undo()
    for _ in range(2):
        _, connected, _ = await ws_connect(ana, "limits")
        assert connected


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_sockets_past_the_per_user_limit_are_refused_and_a_closed_one_frees_a_place(charla_servers, ana, luis, room):
    (server,) = charla_servers(1, CHARLA_MAX_SOCKETS_PER_USER="3")
    name = django_settings.SESSION_COOKIE_NAME
    cookies = {user: {"Cookie": f"{name}={session_cookie(user)}"} for user in (ana, luis)}

    def connect(user, path: str = "/ws/chat/limits/"):
        url, origin = f"ws://127.0.0.1:{server.port}{path}", f"{ORIGIN}:{server.port}"
        return websockets.connect(url, origin=origin, additional_headers=cookies[user], open_timeout=10)

    def notifications():
        return connect(ana, "/ws/notifications/")

    async def refused(connecting) -> int:
        async with connecting as ws:
            async with asyncio.timeout(10):
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await ws.recv()
            return closed.value.rcvd.code

    async def scenario():
        async with connect(ana) as first, connect(ana) as second:
            await recv_frame(first, "historial")
            await recv_frame(second, "historial")
            async with notifications() as bell:
                await recv_frame(bell, "historial_notificaciones")
                assert await refused(connect(ana)) == 4429
                assert await refused(notifications()) == 4429
                async with connect(luis) as other:  # another user is not affected
                    await recv_frame(other, "historial")
                await first.send(json.dumps({"type": "mensaje", "mensaje": "still here"}))
                assert (await recv_frame(second, "mensaje"))["mensaje"]["contenido"] == "still here"
            for _ in range(50):  # the bell closed: a place is free once the server has seen it go
                async with connect(ana) as again:
                    try:
                        await recv_frame(again, "historial")
                        break
                    except websockets.ConnectionClosed as closed:
                        assert closed.rcvd.code == 4429
                await asyncio.sleep(0.1)
            else:
                pytest.fail("closing a socket never freed its place")

    asyncio.run(scenario())


# Request heads ------------------------------------------------------------------------


def test_the_head_timeout_is_written_against_the_pinned_uvicorn_internals():
    """charla/realtime/internals.py overrides uvicorn internals: a new uvicorn or httptools must be checked by hand."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert importlib.metadata.version("uvicorn") == "0.54.0"
    assert importlib.metadata.version("httptools") == "0.9.0"
    for name in ("connection_made", "connection_lost", "on_message_begin", "on_headers_complete"):
        assert name in vars(HttpToolsProtocol), name


class FakeTransport:
    def __init__(self):
        self.closed, self.protocol, self.written = False, None, b""

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True

    def write(self, data):
        self.written += data

    def set_protocol(self, protocol):
        self.protocol = protocol

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def head_timeout_protocol(loop):
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from charla.realtime.internals import HeadTimeoutProtocol

    async def app(scope, receive, send):
        pass

    config = Config(app=app, ws="wsproto", lifespan="off")
    config.load()
    return HeadTimeoutProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)


def test_the_head_timer_runs_until_the_head_is_complete_and_never_after_a_websocket_upgrade(settings):
    settings.CHARLA_HEADER_TIMEOUT = 30
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        protocol, transport = head_timeout_protocol(loop), FakeTransport()
        protocol.connection_made(transport)
        assert protocol.head_timer is not None, "a silent connection is bounded"
        protocol.data_received(b"GET /ws/chat/limits/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert protocol.head_timer is not None, "a partial head is bounded"
        protocol.data_received(
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        assert protocol.head_timer is None, "a complete head stops the clock"
        assert transport.protocol is not None and transport.protocol is not protocol, "upgraded to WebSocket"
        assert not transport.closed
        loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(loop)))  # the upgraded socket's application
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def raw_connection(port: int, head: bytes = b"") -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    if head:
        conn.sendall(head)
    return conn


def closed_within(conn: socket.socket, seconds: float) -> bool:
    """Whether the server closed the connection within `seconds` (reading whatever it sent first)."""
    conn.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if conn.recv(65536) == b"":
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    finally:
        conn.close()
    return False


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_slow_and_silent_connections_are_closed_after_the_head_timeout(charla_servers, ana, room):
    (server,) = charla_servers(1, CHARLA_HEADER_TIMEOUT="1.5")
    started = time.monotonic()
    silent = [raw_connection(server.port) for _ in range(5)]
    partial = [raw_connection(server.port, b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n") for _ in range(5)]
    # Slowloris: a header line every half second never completes the head.
    slow = raw_connection(server.port, b"GET /accounts/login/ HTTP/1.1\r\n")
    for i in range(2):
        time.sleep(0.5)
        slow.sendall(b"X-Slow-%d: yes\r\n" % i)
    # A second request on a kept-alive connection is bounded too.
    kept = raw_connection(server.port, b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert kept.recv(65536).startswith(b"HTTP/1.1 200")
    kept.sendall(b"GET /accounts/login/ HTTP/1.1\r\n")
    # Meanwhile a normal request is served.
    with urllib.request.urlopen(f"{server.http}/accounts/login/", timeout=10) as response:
        assert response.status == 200
    deadline = started + 4.5  # the bound, 1.5 s after the last head began, and a margin
    for conn in [*silent, *partial, slow, kept]:
        assert closed_within(conn, max(0.1, deadline - time.monotonic())), "the server kept it open"


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_websocket_outlives_the_head_timeout(charla_servers, ana, room):
    (server,) = charla_servers(1, CHARLA_HEADER_TIMEOUT="1")
    connecting = server.connect(ana, "limits")

    async def scenario():
        async with connecting as ws:
            await recv_frame(ws, "historial")
            await asyncio.sleep(2.5)
            await ws.send(json.dumps({"type": "mensaje", "mensaje": "still open"}))
            assert (await recv_frame(ws, "mensaje"))["mensaje"]["contenido"] == "still open"

    asyncio.run(scenario())


# Room-wide mentions -------------------------------------------------------------------


@pytest.fixture
def big_room(ana, make_user):
    room = services.room_create(creator=ana, name="big", is_private=True)
    for name in ("bea", "carlos", "dani"):
        services.member_add(room=room, actor=ana, user=make_user(name))
    return room


def stored() -> tuple[list[str], int]:
    contents = list(Message.objects.order_by("seq").values_list("content", flat=True))
    return contents, Notification.objects.filter(kind=Notification.Kind.MENTION).count()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_room_wide_mentions_over_their_limit_are_refused_and_store_nothing(ws_connect, ana, big_room, settings):
    settings.CHARLA_MASS_MENTION_RATE = "2/10m"
    a, *_ = await ws_connect(ana, "big")
    await connected_and_settled(a)
    for i, mention in enumerate(["@sala", "@room"]):
        await send(a, {"type": "mensaje", "mensaje": f"{mention} ronda {i}"})
        await receive_until(a, "mensaje")
    await send(a, {"type": "mensaje", "mensaje": "@SALA otra vez", "client_id": "k-3"})
    error = await receive(a)
    assert (error["type"], error["code"], error["client_id"]) == ("error", "mass_mention_limited", "k-3")
    await send(a, {"type": "mensaje", "mensaje": "hola @bea"})  # other messages still go
    await receive_until(a, "mensaje")
    contents, mentions = await sync_to_async(stored)()
    assert contents == ["@sala ronda 0", "@room ronda 1", "hola @bea"]
    assert mentions == 3 + 3 + 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_room_wide_mention_in_a_large_room_needs_confirmation(ws_connect, ana, big_room, settings):
    settings.CHARLA_MASS_MENTION_CONFIRM_OVER = 2
    a, *_ = await ws_connect(ana, "big", headers=[(b"accept-language", b"es")])
    await connected_and_settled(a)
    frame = {"type": "mensaje", "mensaje": "@sala reunión", "client_id": "k-1"}
    await send(a, frame)
    error = await receive(a)
    assert error == {
        "type": "error",
        "code": "mass_mention_confirm",
        "error": "Esto notificará a 3 personas; confirma para enviarlo.",
        "client_id": "k-1",
        "miembros": 3,
    }
    assert await sync_to_async(stored)() == ([], 0)
    await send(a, {**frame, "confirmar_mencion": "yes"})
    assert (await receive(a))["code"] == "invalid_field"
    await send(a, {**frame, "confirmar_mencion": True})
    assert (await receive_until(a, "mensaje"))["mensaje"]["client_id"] == "k-1"
    await send(a, frame)  # a retry of the stored message is echoed, never asked again
    assert (await receive_until(a, "mensaje"))["mensaje"]["client_id"] == "k-1"
    assert await sync_to_async(stored)() == (["@sala reunión"], 3)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_asks_before_notifying_a_large_room(big_room, browser, charla_servers):
    # big_room first: its invitations publish through async_to_sync, which Playwright's loop forbids.
    from tests.support.browser import login

    (server,) = charla_servers(1, CHARLA_MASS_MENTION_CONFIRM_OVER="2")
    page = browser.new_context(locale="en-US").new_page()
    login(page, server.http, "ana", "pw-ana")
    page.goto(f"{server.http}/rooms/big/")
    page.wait_for_selector("#estado-conexion.estado-success")
    dialog = page.get_by_role("dialog")

    page.fill("#input-mensaje", "@room standup in 5")
    page.press("#input-mensaje", "Enter")
    dialog.get_by_text("This will notify 3 people. Send anyway?").wait_for()
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    assert page.input_value("#input-mensaje") == "@room standup in 5", "a cancelled send goes back to the box"
    assert stored() == ([], 0)

    page.press("#input-mensaje", "Enter")
    dialog.get_by_role("button", name="Send anyway").click()
    page.locator(".message[data-id] .message-content", has_text="@room standup in 5").wait_for()
    assert stored() == (["@room standup in 5"], 3)
    assert page.locator("#error-banner").is_hidden()
