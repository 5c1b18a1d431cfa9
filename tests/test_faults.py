"""The delivery promise survives faults: a server killed with SIGKILL, Redis restarted, a burst across processes.

Real server processes share the test database and a Redis; model clients
(tests.support.clients.ResumingClient) resume after their cursor on whichever server accepts
them and send again whatever they never saw stored. At the end every client's view
must equal the database: every message, in room order, once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest
import websockets
from django.conf import settings

from tests.conftest import ORIGIN
from tests.support.clients import ResumingClient, room_counter, room_truth, room_truth_async, stored_client_ids
from tests.support.servers import recv_frame

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

ROOM = "general"
FAST = {"CHARLA_SEND_RATE": "off", "CHARLA_WATCH_INTERVAL": "1", "CHARLA_PRESENCE_TTL": "3"}
SEND_EVERY = 0.03  # seconds between one sender's messages: a few per 100 ms


def open_socket(server, cookie: str, query: str = ""):
    return websockets.connect(
        server.ws_url(ROOM, query),
        origin=ORIGIN + f":{server.port}",
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
        open_timeout=10,
    )


async def send_until(client: ResumingClient, stop: asyncio.Event) -> None:
    """Send a few messages every 100 ms, each with its own client_id, until told to stop."""
    number = 0
    while not stop.is_set():
        await client.send(f"{client.name} {number}", f"{ROOM}-{client.name}-{number}")
        number += 1
        await asyncio.sleep(SEND_EVERY)


async def converge(clients: list[ResumingClient], *, within: float) -> None:
    """Wait (at most `within` seconds) until every client is connected, saw every send of its own
    stored, and shows the room as the database holds it; the assertions afterwards say what is wrong."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        truth = await room_truth_async(ROOM)
        if all(c.connected and not c.unacknowledged and c.log.view() == truth for c in clients):
            await asyncio.sleep(1.5)  # a frame delivered twice would arrive now
            return
        await asyncio.sleep(0.2)


def assert_every_client_has_the_room(clients: list[ResumingClient]) -> None:
    truth = room_truth(ROOM)
    for client in clients:
        assert client.log.violations == [], client.log.report()
        assert client.log.view() == truth, f"{client.name} differs from the database:\n{client.log.report()}"
        assert client.log.cursor == room_counter(ROOM)
        assert client.unacknowledged == [], f"{client.name}: sends never stored"
    stored = stored_client_ids(ROOM)
    attempted = set().union(*(c.attempted for c in clients))
    assert {c: n for c, n in stored.items() if n != 1} == {}, "a client_id stored twice"
    assert attempted == set(stored), "an attempted send was never stored, or a stored one never attempted"


def run(scenario, *, within: float):
    async def bounded():
        async with asyncio.timeout(within):
            return await scenario()

    return asyncio.run(bounded())


async def senders_through(fault, servers, cookies: dict[str, str], *, before_close=None) -> list[ResumingClient]:
    """Three clients on two servers send until `fault()` (a coroutine function) is over, then converge;
    `before_close(clients)` checks them while they are still connected."""
    clients = [ResumingClient(name, cookie, ROOM, list(servers)) for name, cookie in cookies.items()]
    for client, server in zip(clients, (servers[0], servers[1], servers[0]), strict=True):
        await client.start(server)
    stop = asyncio.Event()
    senders = [asyncio.create_task(send_until(c, stop)) for c in clients]
    try:
        await fault()
    finally:
        stop.set()
        await asyncio.gather(*senders)
    await converge(clients, within=30)
    if before_close is not None:
        before_close(clients)
    for client in clients:
        await client.close()
    return clients


def test_kill_9_of_one_server_loses_nothing(charla_servers, redis_url, cookies):
    one, two = charla_servers(2, redis_url=redis_url, **FAST)

    async def kill_one():
        await asyncio.sleep(1.5)
        await asyncio.to_thread(one.stop, signal.SIGKILL)
        await asyncio.sleep(2.5)

    def scenario():
        return senders_through(kill_one, (one, two), cookies)

    clients = run(scenario, within=90)
    assert_every_client_has_the_room(clients)
    assert clients[0].server is two and clients[2].server is two, "the killed server's clients moved over"
    assert all(len(c.attempted) > 20 for c in clients)


ONLINE_BOTH = {"type": "usuarios_conectados", "usuarios": ["ana", "luis"], "total": 2}


def test_killed_servers_users_drop_out_of_presence(charla_servers, redis_url, cookies):
    one, two = charla_servers(2, redis_url=redis_url, **FAST)

    async def scenario():
        async with open_socket(one, cookies["ana"]) as ana, open_socket(two, cookies["luis"]) as luis:
            await recv_frame(ana, "historial")
            await recv_frame(luis, "historial")
            async with asyncio.timeout(10):  # ana's page knows luis is online, one way or the other
                while True:
                    frame = json.loads(await ana.recv())
                    if frame in ({"type": "usuario_unido", "username": "luis"}, ONLINE_BOTH):
                        break
            await asyncio.to_thread(two.stop, signal.SIGKILL)
            # The TTL is 3 s and the watchdog looks every second; 20 s is generous.
            assert await recv_frame(ana, "usuario_salio", timeout=20) == {"type": "usuario_salio", "username": "luis"}
            async with open_socket(one, cookies["ana"]) as second_tab:
                assert (await recv_frame(second_tab, "usuarios_conectados"))["usuarios"] == ["ana"]

    run(scenario, within=40)


def test_redis_restart_mid_traffic_loses_nothing(restartable_redis, charla_servers, cookies):
    one, two = charla_servers(2, redis_url=restartable_redis.url, **FAST)

    async def restart_redis():
        await asyncio.sleep(1.5)
        await asyncio.to_thread(restartable_redis.stop, signal.SIGKILL)
        await asyncio.sleep(1)
        await asyncio.to_thread(restartable_redis.start)
        await asyncio.sleep(3)

    def scenario():
        return senders_through(restart_redis, (one, two), cookies)

    clients = run(scenario, within=60)
    assert_every_client_has_the_room(clients)


def test_a_burst_across_processes_to_a_reader_that_pauses_loses_nothing(charla_servers, redis_url, cookies):
    """300 messages as fast as two clients on one process can send them, to a reader on the
    other that reads nothing for a second: batches, the publisher, the hub's ordering and
    the reader's outbox all under pressure at once."""
    one, two = charla_servers(2, redis_url=redis_url, **FAST)
    burst = 300

    async def scenario():
        senders = [ResumingClient(name, cookies[name], ROOM, [one]) for name in ("ana", "eva")]
        reader = ResumingClient("luis", cookies["luis"], ROOM, [two], max_queue=16)
        for sender in senders:
            await sender.start(one)
        await reader.start(two, read_after=1.0)  # reads nothing for a second: the server must hold on

        async def blast(sender):
            for number in range(burst // 2):
                await sender.send(f"{sender.name} {number}", f"{ROOM}-{sender.name}-{number}")

        await asyncio.gather(*(blast(s) for s in senders))
        await converge([*senders, reader], within=40)
        for client in (*senders, reader):
            await client.close()
        return [*senders, reader]

    clients = run(scenario, within=60)
    assert len(room_truth(ROOM)) == burst
    assert_every_client_has_the_room(clients)
