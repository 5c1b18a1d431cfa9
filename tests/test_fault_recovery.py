"""Chat keeps going through the faults found from outside: Redis away, Redis restarted, database
connections terminated, connects that fail half-way.

Real server processes share the test database and a private Redis that the tests stop and
start; clients are tests.support.clients.ResumingClient, which resume and resend as a correct client
does. Beyond "nothing lost, nothing duplicated" (tests/test_faults.py), these check what a
person would notice: nobody is disconnected for a blip, a sender is acknowledged while Redis
is away, and nobody stays "online" after their last socket closed.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest
from django.db import connection

from tests.support.clients import ResumingClient
from tests.support.servers import SERVER_APPLICATION_NAME, recv_frame
from tests.test_faults import FAST, ROOM, assert_every_client_has_the_room, converge, open_socket, run, senders_through

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

# A real write limit, so that the rate limiter's Redis being away is part of the test.
LIMITED = {**FAST, "CHARLA_SEND_RATE": "1000/10s"}


async def until(condition, *, within: float, what: str) -> float:
    """Wait for `condition()`; returns the seconds it took, fails the test after `within`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            pytest.fail(f"not within {within} s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def has(client: ResumingClient, text: str) -> bool:
    return any(content == text for _seq, content in client.log.messages.values())


def never_disconnected(clients: list[ResumingClient]) -> None:
    for client in clients:
        assert client.connections == 1 and client.close_codes == [], f"{client.name} was disconnected"


def test_with_redis_away_senders_are_acknowledged_and_everyone_keeps_up(restartable_redis, charla_servers, cookies):
    one, two = charla_servers(2, redis_url=restartable_redis.url, **LIMITED)

    async def scenario():
        ana, eva = (ResumingClient(n, cookies[n], ROOM, [one]) for n in ("ana", "eva"))
        luis = ResumingClient("luis", cookies["luis"], ROOM, [two])
        clients = [ana, eva, luis]
        for client, server in zip(clients, (one, one, two), strict=True):
            await client.start(server)
        await asyncio.to_thread(restartable_redis.stop, signal.SIGKILL)
        await asyncio.sleep(0.5)

        await ana.send("said while Redis is away", "away-1")
        acknowledged = await until(
            lambda: "away-1" in ana.log.stored_client_ids, within=5, what="the sender is acknowledged"
        )
        await until(lambda: has(eva, "said while Redis is away"), within=5, what="the same process's sockets hear it")
        await until(lambda: has(luis, "said while Redis is away"), within=10, what="the other process reads it")
        await luis.send("and answered from the other process", "away-2")
        await until(lambda: "away-2" in luis.log.stored_client_ids, within=5, what="luis is acknowledged")
        await until(lambda: has(ana, "and answered from the other process"), within=10, what="ana reads luis")

        async with open_socket(one, cookies["eva"]) as fresh:  # a new socket connects and gets its history
            history = await recv_frame(fresh, "historial")
            assert "said while Redis is away" in [m["contenido"] for m in history["mensajes"]]

        await asyncio.to_thread(restartable_redis.start)
        await asyncio.sleep(3)  # the processes notice Redis is back (heartbeats) and rejoin
        await eva.send("after Redis is back", "back-1")
        caught_up = await until(
            lambda: all(has(c, "after Redis is back") for c in clients), within=5, what="everyone hears it again"
        )
        await converge(clients, within=15)
        never_disconnected(clients)
        for client in clients:
            await client.close()
        return clients, acknowledged, caught_up

    clients, acknowledged, caught_up = run(scenario, within=90)
    assert_every_client_has_the_room(clients)
    print(f"acknowledged after {acknowledged:.2f} s with Redis away; caught up {caught_up:.2f} s after it returned")


def test_after_a_redis_restart_sockets_come_and_go_without_being_closed(restartable_redis, charla_servers, cookies):
    (server,) = charla_servers(1, redis_url=restartable_redis.url, **LIMITED)

    async def scenario():
        async with open_socket(server, cookies["luis"]) as luis, open_socket(server, cookies["ana"]) as ana:
            await recv_frame(luis, "historial")
            await recv_frame(ana, "historial")
            await asyncio.to_thread(restartable_redis.stop)
            await asyncio.to_thread(restartable_redis.start)
            await asyncio.sleep(2)  # every pooled Redis connection died with the old server
            async with open_socket(server, cookies["eva"]) as eva:  # joins on a pooled connection
                await recv_frame(eva, "historial")
                await recv_notice(luis, {"type": "usuario_unido", "username": "eva"})
                await recv_frame(eva, "usuarios_conectados")
            # eva's leave went through too: luis is told, and his socket is still open.
            await recv_notice(luis, {"type": "usuario_salio", "username": "eva"})
            await ana.send(json.dumps({"type": "mensaje", "mensaje": "still here", "client_id": "restart-1"}))
            assert (await recv_frame(luis, "mensaje"))["mensaje"]["contenido"] == "still here"
            async with open_socket(server, cookies["eva"]) as fresh:  # Redis lost the names; they were put back
                assert (await recv_frame(fresh, "usuarios_conectados"))["usuarios"] == ["ana", "eva", "luis"]

    run(scenario, within=40)


async def recv_notice(ws, wanted: dict) -> None:
    """Read until the frame `wanted` comes (within 10 s)."""
    async with asyncio.timeout(10):
        while json.loads(await ws.recv()) != wanted:
            pass


def terminate_server_connections() -> int:
    """What a database failover or an operator does: end every session of the server processes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [SERVER_APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def test_database_connections_terminated_under_load_disconnect_nobody_and_lose_nothing(
    redis_url, charla_servers, cookies
):
    one, two = charla_servers(2, redis_url=redis_url, **LIMITED)

    terminated = []

    async def terminate_six_times():
        for _ in range(6):
            await asyncio.sleep(0.4)
            terminated.append(await asyncio.to_thread(terminate_server_connections))

    def scenario():
        return senders_through(terminate_six_times, (one, two), cookies, before_close=never_disconnected)

    clients = run(scenario, within=90)
    assert sum(terminated) >= 6, "the servers' connections were really terminated"
    assert_every_client_has_the_room(clients)
    for client in clients:
        assert client.log.errors == [], f"{client.name} was told of a failure: {client.log.errors[:3]}"


def test_connects_through_redis_and_database_faults_leave_nobody_online(restartable_redis, charla_servers, cookies):
    """Sockets that connect while Redis stops and the database drops connections: however each
    connect ends, once every socket is closed nobody is shown online (no socket left half-open)."""
    one, two = charla_servers(2, redis_url=restartable_redis.url, **LIMITED)
    names = ["ana", "luis"]

    async def churn(server, name: str, stop: asyncio.Event) -> int:
        opened = 0
        while not stop.is_set():
            try:
                async with open_socket(server, cookies[name]) as ws:
                    await recv_frame(ws, "historial", timeout=5)
                    opened += 1
            except Exception:  # refused or closed mid-way by a fault: try again, as a page would
                await asyncio.sleep(0.05)
        return opened

    async def scenario():
        stop = asyncio.Event()
        storm = [asyncio.create_task(churn(s, n, stop)) for s in (one, two) for n in names for _ in range(3)]
        await asyncio.sleep(1)
        await asyncio.to_thread(restartable_redis.stop, signal.SIGKILL)
        await asyncio.to_thread(terminate_server_connections)
        await asyncio.sleep(1.5)
        await asyncio.to_thread(terminate_server_connections)
        await asyncio.to_thread(restartable_redis.start)
        await asyncio.sleep(2)
        stop.set()
        opened = sum(await asyncio.gather(*storm))
        await asyncio.sleep(4)  # past the 3 s presence TTL of any entry left behind
        async with open_socket(one, cookies["eva"]) as eva:
            online = (await recv_frame(eva, "usuarios_conectados"))["usuarios"]
        return opened, online

    opened, online = run(scenario, within=60)
    assert opened > 20, "the storm really connected"
    assert online == ["eva"], f"shown online after their last socket closed: {online}"
