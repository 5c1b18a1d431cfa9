"""The hub hands a group's events to its sockets, numbered ones in order when they arrive out of it."""

import asyncio

import pytest

from chat import hub as hub_module
from chat.hub import Hub

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
