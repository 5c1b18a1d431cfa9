"""Several real server processes sharing one Redis act as one chat."""

import asyncio
import contextlib
import json
import urllib.request

import pytest
import websockets

from charla.chat import services
from tests.conftest import session_cookie
from tests.support.servers import recv_frame

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def general(ana, luis):
    room = services.room_create(creator=ana, name="general")
    services.room_open(user=luis, name="general")
    return room


def test_message_and_typing_cross_processes_through_redis(charla_servers, redis_url, ana, luis, general):
    one, two = charla_servers(2, redis_url=redis_url)
    connect_a, connect_b = one.connect(ana, "general"), two.connect(luis, "general")

    async def scenario():
        async with connect_a as a:
            assert (await recv_frame(a, "historial"))["mensajes"] == []
            assert (await recv_frame(a, "usuario_unido"))["username"] == "ana"
            async with connect_b as b:
                await recv_frame(b, "historial")
                # Presence is shared: ana, on the other process, sees luis arrive.
                assert (await recv_frame(a, "usuario_unido"))["username"] == "luis"
                assert (await recv_frame(b, "usuarios_conectados"))["usuarios"] == ["ana", "luis"]

                await a.send(json.dumps({"type": "mensaje", "mensaje": "hola desde uno"}))
                got = await recv_frame(b, "mensaje")
                assert got["mensaje"]["contenido"] == "hola desde uno" and got["mensaje"]["autor"] == "ana"
                assert (await recv_frame(a, "mensaje"))["mensaje"]["id"] == got["mensaje"]["id"]

                await b.send(json.dumps({"type": "escribiendo"}))
                assert await recv_frame(a, "escribiendo") == {"type": "escribiendo", "username": "luis"}
                await b.send(json.dumps({"type": "mensaje", "mensaje": "y desde dos"}))
                assert (await recv_frame(a, "mensaje"))["mensaje"]["contenido"] == "y desde dos"
            assert (await recv_frame(a, "usuario_salio"))["username"] == "luis"

    asyncio.run(scenario())


def test_every_message_arrives_once_in_order_across_processes(charla_servers, redis_url, ana, luis, general):
    one, two = charla_servers(2, redis_url=redis_url, CHARLA_SEND_RATE="off")
    connect_a, connect_b = one.connect(ana, "general"), two.connect(luis, "general")
    count = 60

    async def scenario():
        async with connect_a as a, connect_b as b:
            await recv_frame(a, "historial")
            await recv_frame(b, "historial")

            async def sender(ws, who):
                for i in range(count):
                    await ws.send(json.dumps({"type": "mensaje", "mensaje": f"{who}-{i}", "client_id": f"{who}-{i}"}))

            async def receiver(ws):
                seqs = []
                while len(seqs) < 2 * count:
                    seqs.append((await recv_frame(ws, "mensaje"))["mensaje"]["seq"])
                return seqs

            _, _, seen_a, seen_b = await asyncio.gather(sender(a, "a"), sender(b, "b"), receiver(a), receiver(b))
            expected = list(range(1, 2 * count + 1))
            assert seen_a == expected and seen_b == expected

    asyncio.run(scenario())


def test_a_reader_that_stops_reading_is_dropped_and_catches_up(
    charla_servers, redis_url, ana, luis, make_user, general
):
    """A reader that stops reading cannot grow server memory: its backlog waits behind an
    unanswered ping and the server drops it; the others never notice; it catches up from
    the database (a limited history, then scroll-back over HTTP)."""
    slow_user = make_user("slow")
    services.room_open(user=slow_user, name="general")
    (server,) = charla_servers(
        1,
        redis_url=redis_url,
        CHARLA_SEND_RATE="off",
        CHARLA_MESSAGE_MAX_CHARS="16000",
        server_args=("--ws-ping-interval", "1", "--ws-ping-timeout", "2"),
    )
    sockets = [server.connect(user, "general") for user in (ana, luis, slow_user)]
    slow_cookie = session_cookie(slow_user)
    count, text = 3000, "x" * 15990  # 48 MB to every reader

    async def scenario():
        async with sockets[0] as sender, sockets[1] as reader, sockets[2] as slow:
            for ws in (sender, reader, slow):
                await recv_frame(ws, "historial")
            # websockets stops reading the socket once `max_queue` frames wait unread: the
            # kernel's buffers fill and the server has to hold, or drop, the backlog.
            slow.max_queue = 1
            rss_before = server.rss_bytes()

            echoed = asyncio.Semaphore(50)  # the sender reads its echoes, with 50 messages in flight

            async def send_all():
                for i in range(count):
                    await echoed.acquire()
                    await sender.send(json.dumps({"type": "mensaje", "mensaje": f"{i} {text}"}))

            async def read_echoes():
                for _ in range(count):
                    await recv_frame(sender, "mensaje", timeout=60)
                    echoed.release()

            async def read_all():
                seqs = []
                while len(seqs) < count:
                    seqs.append((await recv_frame(reader, "mensaje", timeout=60))["mensaje"]["seq"])
                return seqs

            *_, seqs = await asyncio.gather(send_all(), read_echoes(), read_all())
            assert seqs == list(range(1, count + 1)), "the other members keep receiving, in order"
            grown = server.rss_bytes() - rss_before
            assert grown < 32 * 2**20, f"server memory grew by {grown / 2**20:.0f} MiB for one slow reader"
            had = []
            async with asyncio.timeout(30):  # what reached it before the drop, then the drop
                with contextlib.suppress(websockets.ConnectionClosed):
                    while True:
                        frame = json.loads(await slow.recv())
                        if frame["type"] == "mensaje":
                            had.append(frame["mensaje"]["seq"])
            assert slow.close_code is not None
            assert len(had) < count, "the slow reader was dropped before it could be sent everything"
            return max(had, default=0)

    cursor = asyncio.run(scenario())
    resumed = server.connect(slow_user, "general", query=f"after={cursor}")

    async def resume():
        async with resumed as again:
            return await recv_frame(again, "historial")

    history = asyncio.run(resume())
    assert history["limited"] is True, "more was missed than one history frame carries"
    seqs = {m["seq"] for m in history["mensajes"]}
    oldest = min(history["mensajes"], key=lambda m: m["seq"])["id"]
    while min(seqs) > cursor + 1:
        page = http_json(server, f"/rooms/general/messages/?before={oldest}&limit=100", slow_cookie)
        seqs |= {m["seq"] for m in page["mensajes"]}
        oldest = page["mensajes"][0]["id"]
    assert seqs >= set(range(cursor + 1, count + 1)), "the slow reader caught up with everything it missed"


def http_json(server, path, cookie):
    from django.conf import settings

    request = urllib.request.Request(server.http + path, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
