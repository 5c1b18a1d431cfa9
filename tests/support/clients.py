"""Model clients for the delivery tests: what a correct client makes of the frames it is sent.

`ChatLog` applies server frames as docs/protocol.md tells a client to, and records
every frame that breaks the delivery promise (a message seen twice, or out of room
order). `ResumingClient` is such a client over a real socket to real server processes:
it resumes with `?after=<cursor>` and re-sends what it never saw stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import Counter

import websockets
from channels.db import database_sync_to_async
from django.conf import settings

from tests.conftest import ORIGIN

logger = logging.getLogger(__name__)


class ChatLog:
    """One client's view of one room, built from the frames it received, and what was wrong with them."""

    def __init__(self, name: str = ""):
        self.name = name
        self.messages: dict[int, tuple[int, str]] = {}  # visible messages: id -> (seq, contenido)
        self.known: set[int] = set()  # every message id this client has seen, deleted ones too
        self.cursor: int | None = None
        self.violations: list[str] = []
        self.errors: list[dict] = []
        self.stored_client_ids: set[str] = set()  # sends this client saw stored
        self.refused_client_ids: set[str] = set()  # sends the server refused with an error
        self.frames: list[dict] = []  # everything received, for failure reports
        self._echoes: Counter[str] = Counter()  # retried sends whose message may come back once more
        self._connection_max_seq = 0
        self._awaiting_history = True

    # Connection life cycle.

    def new_connection(self) -> None:
        """A new socket: the next frame must be a `historial`; order is checked per socket."""
        self._connection_max_seq = 0
        self._awaiting_history = True
        self._echoes.clear()
        self.frames.append({"type": "-- new connection --", "cursor": self.cursor})

    @property
    def resume_query(self) -> str:
        return f"after={self.cursor}" if self.cursor is not None else ""

    def expect_echo(self, client_id: str) -> None:
        """This client sends `client_id` again: the server may answer with the stored message once more."""
        self._echoes[client_id] += 1

    # Frames.

    def apply(self, frame: dict) -> None:
        self.frames.append(frame)
        kind = frame.get("type")
        if self._awaiting_history and kind not in ("historial", "error"):
            self._violation(f"{kind} before the historial")
        handler = getattr(self, "_on_" + str(kind), None)
        if handler is not None:
            handler(frame)

    def _on_historial(self, frame: dict) -> None:
        if not self._awaiting_history:
            self._violation("a second historial on one socket")
        self._awaiting_history = False
        entries = frame["mensajes"]
        seqs = [m["seq"] for m in entries]
        if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
            self._violation(f"historial not in room order: {seqs}")
        if self.cursor is None or frame["limited"]:
            self.messages = {m["id"]: (m["seq"], m["contenido"]) for m in entries if not m["eliminado"]}
        else:
            for m in entries:
                if m["id"] in self.known and not (m["editado"] or m["eliminado"]):
                    self._violation(f"resumed historial repeats message {m['id']} (seq {m['seq']})")
                if m["eliminado"]:
                    self.messages.pop(m["id"], None)
                else:
                    self.messages[m["id"]] = (m["seq"], m["contenido"])
        for m in entries:
            self.known.add(m["id"])
            self._note_client_id(m)
        # The historial holds every event up to its seq: a message sent later has a larger seq.
        self._connection_max_seq = max([self._connection_max_seq, frame["seq"], *seqs])
        self._advance(frame["seq"])

    def _on_mensaje(self, frame: dict) -> None:
        m = frame["mensaje"]
        client_id = m.get("client_id")
        if m["id"] in self.known:
            if client_id is not None and self._echoes[client_id] > 0:
                self._echoes[client_id] -= 1  # the answer to a retried send: an acknowledgement
            else:
                self._violation(f"message {m['id']} (seq {m['seq']}) delivered twice")
        else:
            if m["seq"] <= self._connection_max_seq:
                self._violation(f"message seq {m['seq']} after seq {self._connection_max_seq}: out of room order")
            self.known.add(m["id"])
            self.messages[m["id"]] = (m["seq"], m["contenido"])
            self._connection_max_seq = max(self._connection_max_seq, m["seq"])
        self._note_client_id(m)
        self._advance(m["seq"])

    def _on_mensaje_editado(self, frame: dict) -> None:
        m = frame["mensaje"]
        if m["id"] in self.known and m["id"] not in self.messages:
            self._violation(f"edit (seq {frame['seq']}) of message {m['id']} after its deletion")
        else:
            self.known.add(m["id"])
            self.messages[m["id"]] = (m["seq"], m["contenido"])
        self._advance(frame["seq"])

    def _on_mensaje_eliminado(self, frame: dict) -> None:
        self.known.add(frame["id"])
        self.messages.pop(frame["id"], None)
        self._advance(frame["seq"])

    def _on_error(self, frame: dict) -> None:
        self.errors.append(frame)
        if frame.get("client_id") is not None:
            self.refused_client_ids.add(frame["client_id"])

    # Helpers.

    def _note_client_id(self, message: dict) -> None:
        if message.get("client_id") is not None:
            self.stored_client_ids.add(message["client_id"])

    def _advance(self, seq: int) -> None:
        self.cursor = seq if self.cursor is None else max(self.cursor, seq)

    def _violation(self, text: str) -> None:
        self.violations.append(f"{self.name}: {text}")

    def view(self) -> list[tuple[int, int, str]]:
        """The visible messages as (seq, id, contenido), in room order."""
        return sorted((seq, message_id, content) for message_id, (seq, content) in self.messages.items())

    def report(self, last: int = 40) -> str:
        """The last frames received, for an assertion message."""
        return "\n".join(json.dumps(f, ensure_ascii=False)[:300] for f in self.frames[-last:])


def room_truth(room_name: str) -> list[tuple[int, int, str]]:
    """The database's visible messages of a room as (seq, id, content), in room order (sync callers)."""
    from charla.chat.models import Message

    return list(
        Message.objects.visible().filter(room__name=room_name).order_by("seq").values_list("seq", "id", "content")
    )


async def room_truth_async(room_name: str) -> list[tuple[int, int, str]]:
    """`room_truth` for code running in an event loop."""
    return await database_sync_to_async(room_truth)(room_name)


def room_counter(room_name: str) -> int:
    """The room's event counter: the cursor of a client that has seen everything."""
    from charla.chat.models import Room

    return Room.objects.values_list("last_seq", flat=True).get(name=room_name)


def stored_client_ids(room_name: str) -> Counter[str]:
    """How many messages of the room carry each client_id (deleted ones included)."""
    from charla.chat.models import Message

    return Counter(
        Message.objects.filter(room__name=room_name, client_id__isnull=False).values_list("client_id", flat=True)
    )


class ResumingClient:
    """A client of real server processes that never loses a message: it resumes after its cursor
    and re-sends every send it has not seen stored, over whichever server accepts it.

    `cookie` is the user's session cookie, made before the event loop starts (session_cookie
    uses the synchronous ORM). Call `start(server)`, then `send()`; `close()` at the end.
    """

    def __init__(
        self, name: str, cookie: str, room: str, servers: list, *, retry_for: float = 20.0, max_queue: int | None = None
    ):
        self.name = name
        self.cookie = cookie
        self.room = room
        self.servers = list(servers)
        self.retry_for = retry_for
        self.max_queue = max_queue  # frames the library buffers before it stops reading the socket
        self.log = ChatLog(name)
        self.attempted: dict[str, str] = {}  # client_id -> text, in the order first sent
        self.server = None
        self.connections = 0
        self.close_codes: list[int | None] = []
        self._sent_on: dict[str, int] = {}  # client_id -> the connection it last went out on
        self._ws = None
        self._ready = asyncio.Event()
        self._closing = False
        self._supervisor: asyncio.Task | None = None
        self._send_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()

    # Life cycle.

    async def start(self, server, *, read_after: float = 0) -> None:
        """Connect to `server` and stay connected (to any server) until close(); with `read_after`,
        read nothing past the historial for that many seconds (a slow client)."""
        await self.reconnect_to(server)
        if read_after:
            await asyncio.sleep(read_after)
        self._supervisor = asyncio.create_task(self._supervise(), name=f"client-{self.name}")

    async def reconnect_to(self, server, *, retry_for: float | None = None) -> None:
        """Drop the current socket, if any, and resume on `server`, retrying while it refuses."""
        async with self._connect_lock:
            await self._drop_socket()
            await self._connect([server], self.retry_for if retry_for is None else retry_for)

    async def _resume_anywhere(self) -> None:
        """The socket closed under us: resume on the same server, else on another, whichever accepts."""
        async with self._connect_lock:
            if self._ws is None:
                servers = sorted(self.servers, key=lambda s: s is not self.server)
                await self._connect(servers, self.retry_for)

    async def _connect(self, servers: list, retry_for: float) -> None:
        async with asyncio.timeout(retry_for):
            delay = 0.05
            while True:
                for server in servers:
                    try:
                        await self._open(server)
                        return
                    except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as exc:
                        logger.info("%s: server %s refused (%r)", self.name, server.port, exc)
                await asyncio.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)

    async def _open(self, server) -> None:
        ws = await websockets.connect(
            server.ws_url(self.room, self.log.resume_query),
            origin=ORIGIN + f":{server.port}",
            additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.cookie}"},
            open_timeout=5,
            close_timeout=2,
            max_queue=self.max_queue,
        )
        try:
            self.log.new_connection()
            async with asyncio.timeout(10):
                while self.log._awaiting_history:
                    self.log.apply(json.loads(await ws.recv()))
            async with self._send_lock:
                self.connections += 1
                # After the historial: whatever it did not show stored goes out again, same client_id.
                for client_id, text in list(self.attempted.items()):
                    if self._is_pending(client_id):
                        if client_id in self._sent_on:
                            self.log.expect_echo(client_id)
                        self._sent_on[client_id] = self.connections
                        await ws.send(_send_frame(text, client_id))
                self._ws, self.server = ws, server
                self._ready.set()
        except BaseException:
            await ws.close()
            raise

    async def _supervise(self) -> None:
        """Read frames; when the server or the network closes the socket, resume."""
        while not self._closing:
            await self._ready.wait()
            ws = self._ws
            try:
                async for raw in ws:
                    self.log.apply(json.loads(raw))
            except websockets.exceptions.ConnectionClosed:
                pass
            self.close_codes.append(ws.close_code)
            if self._closing:
                return
            if self._ws is ws:  # not replaced by reconnect_to()
                self._ws = None
                self._ready.clear()
                try:
                    await self._resume_anywhere()
                except TimeoutError:
                    self.log.violations.append(f"{self.name}: no server accepted a resume for {self.retry_for} s")
                    return

    async def _drop_socket(self) -> None:
        ws, self._ws = self._ws, None
        self._ready.clear()
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def close(self) -> None:
        self._closing = True
        await self._drop_socket()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor

    # Sending.

    async def send(self, text: str, client_id: str) -> None:
        """Send a message; with the socket down it waits in the outbox and goes out after the resume."""
        self.attempted[client_id] = text
        async with self._send_lock:
            ws = self._ws
            if ws is None or not self._ready.is_set() or self._sent_on.get(client_id) == self.connections:
                return
            self._sent_on[client_id] = self.connections
            with contextlib.suppress(websockets.exceptions.ConnectionClosed):
                await ws.send(_send_frame(text, client_id))

    def _is_pending(self, client_id: str) -> bool:
        return client_id not in self.log.stored_client_ids and client_id not in self.log.refused_client_ids

    @property
    def unacknowledged(self) -> list[str]:
        """Sends not yet seen stored (nor refused)."""
        return [c for c in self.attempted if self._is_pending(c)]

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._ready.is_set()


def _send_frame(text: str, client_id: str) -> str:
    return json.dumps({"type": "mensaje", "mensaje": text, "client_id": client_id})
