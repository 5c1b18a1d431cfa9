"""The bench's load client against the bare server: deliveries counted, losses and duplicates caught."""

from __future__ import annotations

import asyncio
import contextlib
import json
from array import array

import pytest

from bench.bare_server import run as run_bare
from bench.load import Load, Spec
from bench.stats import latency_summary, percentile
from bench.wsclient import OP_CLOSE, OP_PING, OP_PONG, Conn, Sink, mask_payload, message_text
from tests.support.net import free_port


@contextlib.asynccontextmanager
async def bare_server(**faults):
    port, ready = free_port(), asyncio.Event()
    task = asyncio.create_task(run_bare("127.0.0.1", port, ready=ready, signals=False, **faults))
    await asyncio.wait_for(ready.wait(), 5)
    try:
        yield port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def room(port: int, members: int, senders: int) -> list[Spec]:
    path = "/ws/chat/bench-test/"
    return [
        Spec(i, "127.0.0.1", port, path, None, i if i < senders else -1, tuple(range(senders))) for i in range(members)
    ]


async def run_phase(load: Load, mode: str, seconds: float = 0.4, rate: float = 0.0) -> dict:
    """One phase, then wait until the sockets are quiet; returns the delivery check."""
    now = asyncio.get_running_loop().time()
    load.start_phase("t" + mode[0], mode, now + 0.05, now + 0.05, now + 0.05 + seconds, rate, len(load.senders))
    await asyncio.sleep(seconds + 0.3)
    return load.check(load.phase_result()["sent"])


@pytest.mark.asyncio
async def test_every_member_gets_every_message_once():
    async with bare_server() as port:
        load = Load(room(port, members=5, senders=2), nsenders=2)
        assert (await load.connect())["ready"] == 5
        check = await run_phase(load, "closed")
        sent = sum(load.phase_result()["sent"].values())
        await load.close()
    assert sent > 20
    assert check == {"expected": 5 * sent, "distinct": 5 * sent, "lost": 0, "duplicated": 0, "unexpected": 0}
    assert load.sink.deliveries == 5 * sent
    assert load.sink.errors == 0


@pytest.mark.asyncio
@pytest.mark.parametrize(("fault", "lost", "duplicated"), [("drop_nth", 1, 0), ("dup_nth", 0, 1)])
async def test_a_lost_or_duplicated_delivery_is_caught(fault, lost, duplicated):
    async with bare_server(**{fault: 7}) as port:
        load = Load(room(port, members=4, senders=2), nsenders=2)
        await load.connect()
        check = await run_phase(load, "closed")
        await load.close()
    assert check["expected"] > 40
    assert (check["lost"], check["duplicated"], check["unexpected"]) == (lost, duplicated, 0)


@pytest.mark.asyncio
async def test_open_loop_keeps_its_rate_and_measures_latency():
    async with bare_server() as port:
        load = Load(room(port, members=3, senders=2), nsenders=2)
        await load.connect()
        check = await run_phase(load, "open", seconds=0.5, rate=100)
        await load.close()
    sent = sum(load.phase_result()["sent"].values())
    assert 90 <= sent <= 102  # 2 senders × 100/s × 0.5 s
    assert check["lost"] == check["duplicated"] == 0
    samples = load.sink.latencies
    assert len(samples) == 3 * sent
    assert all(0 < s < 1e9 for s in samples)


def test_percentiles_are_nearest_rank():
    values = list(range(1, 1001))
    assert percentile(values, 50) == 500
    assert percentile(values, 99) == 990
    assert percentile(values, 99.9) == 999
    assert percentile(values, 100) == 1000
    assert percentile([7], 99.9) == 7
    ns = array("q", [i * 1_000_000 for i in range(1000, 0, -1)])  # 1..1000 ms, unordered
    half = len(ns) // 2
    summary = latency_summary([ns[:half].tobytes(), ns[half:].tobytes()])
    assert summary == {"samples": 1000, "p50_ms": 500.0, "p99_ms": 990.0, "p999_ms": 999.0, "max_ms": 1000.0}


class FakeTransport:
    def __init__(self):
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data):
        self.written.append(bytes(data))

    def close(self):
        self.closed = True


def server_frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + n.to_bytes(2, "big")
    else:
        head += bytes([127]) + n.to_bytes(8, "big")
    return head + payload


def chat_frame(tag: str, sender: int, n: int, pad: int = 100) -> bytes:
    message = {"id": n, "autor": "u", "contenido": message_text(tag, sender, n, 1, pad), "seq": n, "sala": "r"}
    return json.dumps({"type": "mensaje", "mensaje": message}, separators=(",", ":")).encode()


def unmask(frame: bytes) -> tuple[int, bytes]:
    assert frame[1] & 0x80, "client frames must be masked"
    n = frame[1] & 0x7F
    return frame[0] & 0x0F, mask_payload(frame[6 : 6 + n], frame[2:6])


@pytest.mark.asyncio
async def test_parser_handles_lengths_split_reads_fragments_and_control_frames():
    sink = Sink(nsenders=3)
    sink.phase("abc")
    conn = Conn(sink, "127.0.0.1", 1, "/", sender=-1)
    conn.connection_made(FakeTransport())
    stream = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    stream += server_frame(b'{"type":"historial","mensajes":[],"seq":0,"limited":false}')
    stream += server_frame(chat_frame("abc", 0, 0, pad=10))  # 7-bit length
    stream += server_frame(chat_frame("abc", 1, 0))  # 16-bit length
    stream += server_frame(chat_frame("abc", 2, 5, pad=70_000))  # 64-bit length
    stream += server_frame(b"hello", OP_PING)
    first = chat_frame("abc", 0, 1)
    stream += server_frame(first[:40], fin=False) + server_frame(b"", OP_PONG) + server_frame(first[40:], 0)
    stream += server_frame(chat_frame("old", 0, 9))  # another phase's message
    stream += server_frame(b'{"type":"usuarios_conectados","usuarios":[]}')
    stream += server_frame(b'{"type":"error","mensaje":"no","code":"x"}')
    stream += server_frame((4401).to_bytes(2, "big"), OP_CLOSE)
    for i in range(0, len(stream), 7):  # reads cut anywhere, headers included
        conn.data_received(stream[i : i + 7])
    assert conn.ready.done()
    assert sink.deliveries == 4
    assert (conn.seen[0][:2], conn.seen[1][0], conn.seen[2][5]) == (b"\x01\x01", 1, 1)
    assert (sink.stray, sink.other, sink.errors) == (1, 1, 1)
    assert dict(sink.closes) == {"4401": 1}
    replies = [unmask(frame) for frame in conn.transport.written[1:]]
    assert replies == [(OP_PONG, b"hello"), (OP_CLOSE, (1000).to_bytes(2, "big"))]
    assert conn.transport.closed


@pytest.mark.asyncio
async def test_parser_reads_the_tutorials_frames():
    """The seed tutorial's server writes json.dumps' default separators and {"error": ...} (bench/tutorial_app)."""
    sink = Sink(nsenders=2)
    sink.phase("abc")
    conn = Conn(sink, "127.0.0.1", 1, "/", sender=-1)
    conn.connection_made(FakeTransport())

    def tutorial_frame(tag: str, sender: int, n: int) -> bytes:
        message = {"id": n, "autor": "u", "autor_id": 1, "contenido": message_text(tag, sender, n, 1), "editado": False}
        return json.dumps({"type": "mensaje", "mensaje": message}).encode()

    stream = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    stream += server_frame(json.dumps({"type": "historial", "mensajes": []}).encode())
    stream += server_frame(json.dumps({"type": "usuario_unido", "username": "u"}).encode())
    stream += server_frame(tutorial_frame("abc", 0, 0)) + server_frame(tutorial_frame("abc", 1, 3))
    stream += server_frame(chat_frame("abc", 0, 1))  # Charla's compact frames still count
    stream += server_frame(tutorial_frame("old", 0, 9))
    stream += server_frame(json.dumps({"error": "JSON inválido"}).encode())
    conn.data_received(stream)
    assert conn.ready.done()
    assert sink.deliveries == 3
    assert (conn.seen[0][:2], conn.seen[1][3]) == (b"\x01\x01", 1)
    assert (sink.stray, sink.other, sink.errors) == (1, 1, 1)


@pytest.mark.asyncio
async def test_a_member_refused_at_connect_counts_as_lost():
    async with bare_server() as port:
        specs = room(port, members=3, senders=1)
        refused = Spec(3, "127.0.0.1", free_port(), "/ws/chat/bench-test/", None, -1, (0,))  # nothing listens
        load = Load([*specs, refused], nsenders=1)
        assert (await load.connect(timeout=2))["ready"] == 3
        check = await run_phase(load, "closed")
        sent = sum(load.phase_result()["sent"].values())
        await load.close()
    assert [s.index for s in load.missing] == [3]
    assert check["expected"] == 4 * sent
    assert check["lost"] == sent


def test_tutorial_rooms_are_word_names():
    from bench.scenarios import SCENARIOS, tutorial_room

    room100 = SCENARIOS["room100"]
    assert "tutorial" in room100.servers and "tutorial" not in SCENARIOS["room1000"].servers
    rooms = tuple(map(tutorial_room, room100.rooms))
    assert {spec.path for spec in room100.specs([1], None, rooms)} == {"/ws/chat/bench_room100/"}
