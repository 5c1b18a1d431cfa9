"""The hub hands a group's events to its sockets, numbered ones in order when they arrive out of it."""

import asyncio

import pytest

from charla.realtime import hub as hub_module
from charla.realtime.hub import Hub

pytestmark = pytest.mark.asyncio


class Socket:
    def __init__(self):
        self.seqs = []

    def room_event(self, event):
        self.seqs.append(event["seq"])


def event(seq, group="g"):
    return {"type": "room.event", "group": group, "text": f"{seq}", "seq": seq, "skip_user": None}


async def overtaken(order):
    hub = Hub(asyncio.get_running_loop())
    socket = Socket()
    hub.groups["g"].add(socket)
    for seq in order:
        hub.dispatch(event(seq))
    return socket


async def test_an_event_that_overtook_another_waits_for_it():
    socket = await overtaken([1, 3, 4, 2, 5])
    assert socket.seqs == [1, 2, 3, 4, 5]


async def test_a_gap_that_does_not_close_is_handed_on_for_the_socket_to_fill(monkeypatch):
    monkeypatch.setattr(hub_module, "REORDER_WAIT", 0.05)
    socket = await overtaken([1, 3, 4])
    assert socket.seqs == [1]
    await asyncio.sleep(0.1)
    assert socket.seqs == [1, 3, 4], "the socket sees the gap and reads it from the database"


async def test_unnumbered_frames_and_other_groups_are_never_held():
    hub = Hub(asyncio.get_running_loop())
    socket, other = Socket(), Socket()
    hub.groups["g"].add(socket)
    hub.groups["h"].add(other)
    hub.dispatch(event(1))
    hub.dispatch(event(3))  # held
    hub.dispatch(event(None))  # typing, presence
    hub.dispatch(event(7, group="h"))
    assert socket.seqs == [1, None] and other.seqs == [7]


class RecordingLayer:
    def __init__(self):
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group, message):
        self.sent.append((group, message))


async def test_events_published_together_leave_as_one_message_per_group_and_arrive_in_order():
    loop = asyncio.get_running_loop()
    sender, receiver = Hub(loop), Hub(loop)
    sender.link.layer = RecordingLayer()
    tasks = [loop.create_task(sender._publish_forever()), loop.create_task(sender.link._send_forever())]
    for seq in (1, 2, 3):  # a batch of sends, committed together
        sender.publish("g", event(seq))
        sender.publish("activity", event(None, group="activity"))
    await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    assert [group for group, _message in sender.link.layer.sent] == ["g", "activity"], "one publish per group"
    socket, watcher = Socket(), Socket()
    receiver.groups["g"].add(socket)
    receiver.groups["activity"].add(watcher)
    for _group, message in sender.link.layer.sent:
        receiver.dispatch(message)
    assert socket.seqs == [1, 2, 3] and watcher.seqs == [None, None, None]


class AwayLayer:
    """A channel layer whose Redis is away: every call fails."""

    def __init__(self):
        self.calls = 0

    async def _fail(self, *args):
        self.calls += 1
        raise ConnectionError("Redis is away")

    new_channel = group_add = group_discard = group_send = receive = _fail


async def test_with_the_layer_away_a_process_still_delivers_its_own_events_to_its_sockets(monkeypatch):
    monkeypatch.setattr(hub_module.LayerLink, "__init__", _away_link_init(hub_module.LayerLink.__init__))
    hub = Hub(asyncio.get_running_loop())
    socket = Socket()
    async with asyncio.timeout(5):  # subscribing does not wait for the layer forever
        await hub.subscribe("g", socket)
    for seq in (1, 2):
        hub.publish("g", event(seq))
    await asyncio.sleep(0.05)
    assert socket.seqs == [1, 2], "the sender and its neighbours in the process hear it"
    assert not hub.link.up and hub.link.layer.calls > 0
    await hub.unsubscribe("g", socket)
    assert "g" not in hub.groups, "a socket that goes is forgotten at once"


def _away_link_init(init):
    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.layer = AwayLayer()

    return patched


async def test_a_process_skips_its_own_events_when_the_layer_brings_them_back():
    loop = asyncio.get_running_loop()
    hub = Hub(loop)
    hub.link.layer = RecordingLayer()
    socket = Socket()
    hub.groups["g"].add(socket)
    tasks = [loop.create_task(hub._publish_forever()), loop.create_task(hub.link._send_forever())]
    hub.publish("g", event(1))
    await asyncio.sleep(0.01)
    for task in tasks:
        task.cancel()
    ((_group, echoed),) = hub.link.layer.sent
    hub.link.received(echoed)  # what the layer hands back to the publishing process
    hub.link.received({**event(2), "origin": "another process"})
    assert socket.seqs == [1, 2], "its own event delivered once, at publish; another process's as it comes"


class FlakyLayer(RecordingLayer):
    """A layer whose Redis is away until `back` is set, then delivers group sends to the one channel."""

    def __init__(self):
        super().__init__()
        self.back = False
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.members: set[str] = set()

    async def new_channel(self):
        if not self.back:
            raise ConnectionError("Redis is away")
        return "the-channel"

    async def group_add(self, group, channel):
        if not self.back:
            raise ConnectionError("Redis is away")
        self.members.add(group)

    async def group_discard(self, group, channel):
        self.members.discard(group)

    async def group_send(self, group, message):
        if not self.back:
            raise ConnectionError("Redis is away")
        self.sent.append((group, message))
        if group in self.members:
            await self.inbox.put(message)

    async def receive(self, channel):
        return await self.inbox.get()


async def test_with_the_layer_away_connects_do_not_wait_and_the_link_comes_back_by_itself(monkeypatch):
    monkeypatch.setattr(hub_module.LayerLink, "__init__", _flaky_link_init(hub_module.LayerLink.__init__))
    from charla.realtime import hublink

    monkeypatch.setattr(hublink, "HEARTBEAT_EVERY", 0.05)
    monkeypatch.setattr(hublink, "SILENCE_LIMIT", 0.2)
    hub = Hub(asyncio.get_running_loop())
    socket = Socket()
    await hub.subscribe("g", socket)  # the first join fails: the layer counts as away
    started = asyncio.get_running_loop().time()
    for group in ("h", "i", "j"):
        await hub.subscribe(group, Socket())
    assert asyncio.get_running_loop().time() - started < 0.5, "later connects do not wait for the layer"
    assert not hub.link.up

    hub.publish("g", {"type": "room.member_removed", "user_id": 7, "retain": True})  # an access event
    hub.publish("g", event(1))  # a numbered event: other processes read it from the database
    await asyncio.sleep(0.3)
    hub.link.layer.back = True
    async with asyncio.timeout(5):
        while not (hub.link.up and "g" in hub.link.joined):
            await asyncio.sleep(0.05)
    sent = [inner["type"] for _group, message in hub.link.layer.sent for inner in message.get("messages", [message])]
    assert "room.member_removed" in sent, "the access event was kept and sent once the layer took it"


def _flaky_link_init(init):
    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.layer = FlakyLayer()

    return patched
