"""The delivery promise, in one process: whatever users do, every client ends with the room as stored.

Every stored message reaches every member who is connected or who reconnects, in the
room's order, exactly once as the client sees it; a retried send never stores a second
copy. Hypothesis writes programs of sends, retries, edits, deletions, disconnections,
resumes and sends from elsewhere; a model client (tests.support.clients.ChatLog) checks every
frame, and at the end its view must equal the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from charla.chat import broadcast, services
from charla.chat.models import Room
from charla.chat.watchdog import get_watchdog
from charla.realtime import hub as hub_module
from charla.realtime import presence
from charla.realtime.hub import BUNDLE, Hub
from charla.realtime.loops import PerLoop
from tests.conftest import ORIGIN, session_cookie
from tests.support.clients import ChatLog, room_counter, room_truth, room_truth_async, stored_client_ids

pytestmark = pytest.mark.django_db(transaction=True)

QUIET = 0.2  # seconds without a frame on any socket: the room has settled
BLAST = 50
_room_numbers = itertools.count()


class SocketClient:
    """One user's chat tab over the real ASGI stack, behaving as a correct client: it resumes
    after its cursor and sends again, with the same client_id, whatever it never saw stored."""

    def __init__(self, username: str, cookie: str, room: str):
        self.username = username
        self.cookie = cookie
        self.room = room
        self.log = ChatLog(username)
        self.communicator: WebsocketCommunicator | None = None
        self.attempted: dict[str, str] = {}

    @property
    def connected(self) -> bool:
        return self.communicator is not None

    async def connect(self) -> None:
        from config.asgi import application

        query = self.log.resume_query
        headers = [
            (b"host", b"127.0.0.1"),
            (b"origin", ORIGIN.encode()),
            (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={self.cookie}".encode()),
        ]
        path = f"/ws/chat/{self.room}/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=5)
        assert connected, f"{self.username} refused with {code}"
        self.communicator = communicator
        self.log.new_connection()
        self.log.apply(json.loads(await communicator.receive_from(timeout=5)))
        for client_id, text in self.attempted.items():
            if client_id not in self.log.stored_client_ids and client_id not in self.log.refused_client_ids:
                self.log.expect_echo(client_id)
                await self._send(text, client_id)

    async def disconnect(self) -> None:
        """The socket dies: frames the client had not read yet are lost with it."""
        communicator, self.communicator = self.communicator, None
        await communicator.disconnect()

    async def send(self, text: str, client_id: str, *, retry: bool = False) -> None:
        self.attempted[client_id] = text
        if self.connected:
            await self._send(text, client_id)
            if retry:  # the client gave up waiting and sends the same frame again
                self.log.expect_echo(client_id)
                await self._send(text, client_id)

    async def _send(self, text: str, client_id: str) -> None:
        await self.communicator.send_to(
            text_data=json.dumps({"type": "mensaje", "mensaje": text, "client_id": client_id})
        )

    async def frame(self, frame: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def read(self, limit: int | None = None, quiet: float = 0.02) -> int:
        """Apply the frames that arrive until none comes for `quiet` seconds (or `limit` frames)."""
        count = 0
        while self.connected and (limit is None or count < limit):
            if await self.communicator.receive_nothing(timeout=quiet):
                break
            self.log.apply(json.loads(await self.communicator.receive_from(timeout=5)))
            count += 1
        return count

    @property
    def unacknowledged(self) -> list[str]:
        done = self.log.stored_client_ids | self.log.refused_client_ids
        return [c for c in self.attempted if c not in done]


async def settle(clients: list[SocketClient], room_name: str) -> None:
    """Read every socket until each has seen the room's last event, then until none receives
    anything for QUIET seconds (a frame sent twice would arrive then)."""
    last = await database_sync_to_async(room_counter)(room_name)
    with contextlib.suppress(TimeoutError):  # the assertions afterwards say what is missing
        async with asyncio.timeout(10):
            while any((c.log.cursor or 0) < last for c in clients):
                if not sum(await asyncio.gather(*(c.read(quiet=0.01) for c in clients))):
                    await asyncio.sleep(0.01)
    while sum(await asyncio.gather(*(c.read(quiet=QUIET) for c in clients))):
        pass


def fresh_in_process_stack() -> None:
    """A channel layer and presence registry for this example alone (the autouse fixture resets them per test)."""
    channel_layers.backends.clear()
    presence.local_presence = presence.LocalPresence()


def assert_delivered(clients: list[SocketClient], truth: list, room_name: str) -> None:
    for client in clients:
        assert client.log.violations == [], client.log.report()
        assert client.log.view() == truth, f"{client.username} sees another room:\n{client.log.report()}"
        assert client.unacknowledged == [], f"{client.username}: sends never stored"
    attempted = set().union(*(c.attempted for c in clients))
    stored = stored_client_ids(room_name)
    assert {c: n for c, n in stored.items() if n != 1} == {}
    assert attempted <= set(stored)


# The programs.

USERS = ("ana", "luis", "eva")

texts = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "So")), max_size=12)


@st.composite
def programs(draw):
    users = draw(st.integers(min_value=2, max_value=3))
    who = st.integers(min_value=0, max_value=users - 1)
    step = st.one_of(
        st.tuples(st.just("send"), who, texts, st.booleans()),
        st.tuples(st.just("send"), who, texts, st.just(False)),
        st.tuples(st.just("edit"), who, st.integers(0, 50), texts),
        st.tuples(st.just("delete"), who, st.integers(0, 50)),
        st.tuples(st.just("disconnect"), who),
        st.tuples(st.just("reconnect"), who),
        st.tuples(st.just("elsewhere"), who, texts),
        st.tuples(st.just("read"), who, st.integers(min_value=1, max_value=4)),
    )
    return users, draw(st.lists(step, min_size=1, max_size=30))


async def run_program(users: list, cookies: dict, program: list) -> tuple[list[SocketClient], str]:
    room_name = f"prop-{next(_room_numbers)}-{uuid.uuid4().hex[:8]}"
    room = await database_sync_to_async(_room_with_members)(room_name, users)
    clients = [SocketClient(u.username, cookies[u.username], room_name) for u in users]
    for client in clients:
        await client.connect()
    numbers = itertools.count()
    for kind, index, *args in program:
        client, user = clients[index], users[index]
        n = next(numbers)
        if kind == "send":
            text, retry = args
            await client.send(f"{n} {text}", f"{room_name}-{n}", retry=retry)
        elif kind in ("edit", "delete"):
            mine = await database_sync_to_async(_own_visible_ids)(room, user)
            if not mine:
                continue
            message_id = mine[args[0] % len(mine)]
            if kind == "edit":
                frame = {"type": "editar", "id": message_id, "mensaje": f"{n} edited {args[1]}"}
            else:
                frame = {"type": "eliminar", "id": message_id}
            if client.connected:
                await client.frame(frame)
            elif kind == "edit":
                await database_sync_to_async(services.message_edit)(
                    room=room, user=user, message_id=message_id, content=frame["mensaje"]
                )
            else:
                await database_sync_to_async(services.message_delete)(room=room, user=user, message_id=message_id)
        elif kind == "disconnect" and client.connected:
            await client.disconnect()
        elif kind == "reconnect" and not client.connected:
            await client.connect()
        elif kind == "elsewhere" and not client.connected:
            # The same user on another device: a send this client never made, stored once.
            client_id = f"{room_name}-{n}-elsewhere"
            await database_sync_to_async(services.message_send)(
                room=room, author=user, content=f"{n} elsewhere {args[0]}", client_id=client_id
            )
        elif kind == "read" and client.connected:
            await client.read(limit=args[0])
    for client in clients:
        if not client.connected:
            await client.connect()
    await settle(clients, room_name)
    for client in clients:
        await client.disconnect()
    return clients, room_name


def _room_with_members(name: str, users: list) -> Room:
    room = services.room_create(creator=users[0], name=name)
    for user in users[1:]:
        services.room_open(user=user, name=name)
    return room


def _own_visible_ids(room: Room, user) -> list[int]:
    return list(room.messages.visible().filter(author=user).order_by("seq").values_list("pk", flat=True))


@pytest.fixture
def people(make_user):
    users = [make_user(name) for name in USERS]
    return users, {u.username: session_cookie(u) for u in users}


@hypothesis_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# A retry answered at once, ahead of events still on their way (fixed in 9830552).
@example(program=(2, [("send", 1, "", False), ("send", 0, "", False)] * 3 + [("send", 0, "", True)]))
@given(program=programs())
def test_every_client_ends_with_the_stored_room_in_order_once(people, settings, program):
    settings.CHARLA_SEND_RATE = "off"
    users, cookies = people
    count, steps = program
    fresh_in_process_stack()
    clients, room_name = asyncio.run(run_program(users[:count], cookies, steps))
    assert_delivered(clients, room_truth(room_name), room_name)


@pytest.mark.asyncio
async def test_a_retried_send_never_moves_the_cursor_past_a_missed_message(people, settings):
    """The answer to a retry must not show a client a seq before the events still on their way
    to its socket: resuming after that seq would skip them."""
    settings.CHARLA_SEND_RATE = "off"
    fresh_in_process_stack()
    (ana, luis, _), cookies = people
    await database_sync_to_async(_room_with_members)("retry", [ana, luis])
    a, b = SocketClient("ana", cookies["ana"], "retry"), SocketClient("luis", cookies["luis"], "retry")
    await a.connect()
    await b.connect()
    await settle([a, b], "retry")
    # Both talk at once; ana's last send is retried at once (she gave up waiting for its echo).
    for i in range(3):
        await b.send(f"luis {i}", f"retry-luis-{i}")
        await a.send(f"ana {i}", f"retry-ana-{i}")
    await a.send("ana, sent twice", "retry-ana-twice", retry=True)
    # ana's socket dies just after she read the answer to her retry.
    while "retry-ana-twice" not in a.log.stored_client_ids:
        await a.read(limit=1)
    await a.disconnect()
    await a.connect()
    await settle([a, b], "retry")
    truth = await room_truth_async("retry")
    assert len(truth) == 7
    await sync_to_async(assert_delivered)([a, b], truth, "retry")
    for client in (a, b):
        await client.disconnect()


# A layer that drops.


def _numbered(message: dict) -> bool:
    """A numbered room event, or a hub bundle holding one."""
    if message.get("type") == BUNDLE:
        return any(_numbered(inner) for inner in message["messages"])
    return message.get("type") == "room.event" and message.get("seq") is not None


class DroppingHub(Hub):
    """A hub that loses every third message with room events on their way to its sockets, its own
    included (at-most-once, as Redis's layer is; a process's own events are as easily lost to a
    socket that falls behind)."""

    dropped = 0
    events = 0

    def dispatch(self, message):
        if _numbered(message):
            type(self).events += 1
            if type(self).events % 3 == 0:
                type(self).dropped += 1
                return
        super().dispatch(message)


@pytest.mark.asyncio
async def test_a_hub_that_drops_messages_loses_nothing(people, settings, monkeypatch):
    """Events lost on their way to the sockets, as Redis's layer may lose them (over capacity, on a
    restart): the sockets notice the gaps, or the watchdog does, and fill them from the database."""
    settings.CHARLA_SEND_RATE = "off"
    settings.CHARLA_WATCH_INTERVAL = 0.2  # a dropped last message is noticed by the watchdog only
    monkeypatch.setattr(hub_module, "_hubs", PerLoop(DroppingHub))
    fresh_in_process_stack()
    DroppingHub.dropped = DroppingHub.events = 0
    users, cookies = people
    await database_sync_to_async(_room_with_members)("drops", users)
    clients = [SocketClient(u.username, cookies[u.username], "drops") for u in users]
    for client in clients:
        await client.connect()
    # Two users blast without reading: every socket is sent events faster than it forwards them.
    for i in range(BLAST):
        for client in clients[:2]:
            await client.send(f"{client.username} {i}", f"drops-{client.username}-{i}")
    await settle(clients, "drops")
    truth = await room_truth_async("drops")
    assert len(truth) == 2 * BLAST
    assert DroppingHub.dropped > 0, "the hub dropped nothing: this test tests nothing"
    await sync_to_async(assert_delivered)(clients, truth, "drops")
    for client in clients:
        await client.disconnect()


# Sockets that must not be lost to one bad send or one overwhelmed neighbour.


@dataclass(eq=False)
class BrokenSocket:
    """What the watchdog knows of a socket, for one that fails when asked to catch up."""

    room: Room
    cursor: int = 0

    def resync(self):
        raise RuntimeError("this socket is broken")


@pytest.mark.asyncio
async def test_one_broken_socket_does_not_stop_the_watchdog_repairing_the_others(people, settings, monkeypatch):
    settings.CHARLA_SEND_RATE = "off"
    settings.CHARLA_WATCH_INTERVAL = 0.1
    fresh_in_process_stack()
    (ana, luis, _), cookies = people
    busy = await database_sync_to_async(_room_with_members)("busy", [ana])
    quiet = await database_sync_to_async(_room_with_members)("quiet", [ana, luis])
    await database_sync_to_async(services.message_send)(room=busy, author=ana, content="busy")
    # A socket of another room, watched first, that is behind and fails to catch up.
    get_watchdog().watch(BrokenSocket(room=busy))

    b = SocketClient("luis", cookies["luis"], "quiet")
    await b.connect()
    await b.read(quiet=0.1)
    # As after a Redis restart: another process's event that this one never hears.
    monkeypatch.setattr(broadcast, "group_send_sync", lambda group, message: None)
    await database_sync_to_async(services.message_send)(room=quiet, author=ana, content="into the void")
    monkeypatch.undo()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(3):  # 30 ticks
            while b.log.cursor < 1:
                await b.read(quiet=0.05)
    assert b.log.view() == await room_truth_async("quiet")
    await b.disconnect()


@pytest.mark.asyncio
async def test_a_send_the_database_cannot_store_is_answered_and_the_socket_stays_open(people, settings):
    settings.CHARLA_SEND_RATE = "off"
    fresh_in_process_stack()
    (ana, *_), cookies = people
    await database_sync_to_async(_room_with_members)("nul", [ana])
    a = SocketClient("ana", cookies["ana"], "nul")
    await a.connect()
    await a.send("nul \x00 inside", "nul-1")
    await a.send("and the next one", "nul-2")
    await settle([a], "nul")
    assert "nul-1" in a.log.stored_client_ids | a.log.refused_client_ids
    assert "nul-2" in a.log.stored_client_ids
    await a.disconnect()
