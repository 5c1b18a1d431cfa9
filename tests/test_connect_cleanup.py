"""A socket whose connect fails half-way gives back everything it took, and its client is told to try again."""

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError

from charla.chat import selectors, services
from charla.chat.watchdog import get_watchdog
from charla.realtime import presence
from charla.realtime.hub import get_hub
from tests.support.ws import connected_and_settled

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def general(ana):
    return services.room_create(creator=ana, name="general")


async def next_close_code(communicator) -> int:
    while True:
        output = await communicator.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            return output.get("code")


def held_by_this_process(room) -> dict:
    """What the process still keeps for a room's sockets: hub listeners, watched sockets, presence."""
    return {
        "listeners": len(get_hub().groups.get(room.group_name, ())),
        "watched": len(get_watchdog()._sockets.get(room.pk, ())),
        "online": dict(presence.local_presence._rooms.get(room.pk, {})),
    }


NOTHING = {"listeners": 0, "watched": 0, "online": {}}


async def test_a_history_read_the_database_breaks_twice_closes_with_try_again_and_leaves_nothing(
    ws_connect, ana, general, monkeypatch
):
    def broken(**kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(selectors, "room_history", broken)
    a, connected, _ = await ws_connect(ana, "general")
    assert connected, "accepted before the history was read"
    assert await next_close_code(a) == 1013, "try again later: the client reconnects"
    assert held_by_this_process(general) == NOTHING


async def test_a_history_read_broken_once_is_read_again(ws_connect, ana, general, monkeypatch):
    history, calls = selectors.room_history, []

    def broken_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return history(**kwargs)

    monkeypatch.setattr(selectors, "room_history", broken_once)
    a, connected, _ = await ws_connect(ana, "general")
    assert (await connected_and_settled(a))["type"] == "historial"
    assert len(calls) == 2


async def test_a_connect_that_fails_after_joining_presence_leaves_nobody_online(ws_connect, ana, general, monkeypatch):
    async def broken_online(room_id):
        raise RuntimeError("a bug after the join")

    monkeypatch.setattr(presence.local_presence, "online", broken_online)
    a, connected, _ = await ws_connect(ana, "general")
    assert await next_close_code(a) == 1013
    assert held_by_this_process(general) == NOTHING, "no listener hearing forever, nobody online forever"
    await sync_to_async(services.message_send)(room=general, author=ana, content="nobody is left to hear this")
    assert held_by_this_process(general) == NOTHING
