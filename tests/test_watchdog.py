"""The watchdog notices sockets the channel layer left behind and makes them whole."""

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from charla.chat import broadcast, services
from charla.chat.watchdog import get_watchdog
from charla.realtime.hub import get_hub
from tests.support.ws import connected_and_settled, receive, receive_until, send

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def general(ana):
    return services.room_create(creator=ana, name="general")


async def test_socket_that_lost_its_group_gets_back_what_it_missed_and_rejoins(
    ws_connect, ana, luis, general, monkeypatch
):
    a, *_ = await ws_connect(ana, "general")
    await connected_and_settled(a)
    # As after a Redis restart: the process silently stops being in the room's group, and
    # another process's event published meanwhile never arrives.
    layer, hub = get_channel_layer(), get_hub()
    await layer.group_discard(general.group_name, hub.channel_name)
    await sync_to_async(services.room_open)(user=luis, name="general")
    monkeypatch.setattr(broadcast, "group_send_sync", lambda group, message: None)
    await sync_to_async(services.message_send)(room=general, author=luis, content="said into the void")
    monkeypatch.undo()
    assert await a.receive_nothing(timeout=0.3)

    watchdog = get_watchdog()
    await watchdog.tick()  # notes what is committed now
    await watchdog.tick()  # a tick later the socket is still behind: resync
    assert (await receive(a))["mensaje"]["contenido"] == "said into the void"
    assert hub.channel_name in layer.groups[general.group_name], "the process is in the room's group again"

    b, *_ = await ws_connect(luis, "general")
    await connected_and_settled(b)
    await send(b, {"type": "mensaje", "mensaje": "and heard live again"})
    assert (await receive_until(a, "mensaje"))["mensaje"]["contenido"] == "and heard live again"


async def test_sockets_that_are_up_to_date_are_left_alone(ws_connect, ana, general):
    a, *_ = await ws_connect(ana, "general")
    await connected_and_settled(a)
    await send(a, {"type": "mensaje", "mensaje": "hola"})
    await receive(a)
    watchdog = get_watchdog()
    await watchdog.tick()
    await watchdog.tick()
    assert await a.receive_nothing(timeout=0.3)
