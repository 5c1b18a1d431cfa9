"""Several real server processes sharing one Redis act as one chat."""

import asyncio
import json

import pytest

from chat import services
from tests.servers import recv_frame

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
                assert (await recv_frame(a, "usuarios_conectados"))["usuarios"] == ["ana", "luis"]

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
