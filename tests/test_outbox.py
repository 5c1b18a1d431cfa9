"""The outbox writes frames in order without waiting, and disconnects a reader that stopped reading."""

import asyncio

import pytest

from charla.realtime.outbox import CLOSE_TOO_SLOW, Outbox

pytestmark = pytest.mark.asyncio


class FakeServer:
    """An ASGI send whose socket can stop taking frames, as a transport over its high-water mark does."""

    def __init__(self):
        self.sent: list[dict] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.transport = self
        self.aborted = False

    async def send(self, message):  # a bound method: the outbox can reach .transport through it
        await self.writable.wait()
        self.sent.append(message)

    def abort(self):
        self.aborted = True


def texts(server):
    return [m["text"] for m in server.sent if m["type"] == "websocket.send"]


async def test_frames_go_out_at_once_when_the_socket_takes_them():
    server = FakeServer()
    outbox = Outbox(server.send, max_queued_bytes=100)
    for i in range(3):
        outbox.write(f"f{i}")
    assert texts(server) == ["f0", "f1", "f2"], "sent synchronously, with no task per frame"


async def test_frames_written_while_a_send_waits_follow_it_in_order():
    server = FakeServer()
    outbox = Outbox(server.send, max_queued_bytes=100)
    server.writable.clear()
    for i in range(4):
        outbox.write(f"f{i}")
    assert texts(server) == []
    server.writable.set()
    await asyncio.sleep(0.01)
    assert texts(server) == ["f0", "f1", "f2", "f3"]
    outbox.write("f4")
    assert texts(server)[-1] == "f4", "back to sending at once"


async def test_a_reader_over_its_queue_is_disconnected_and_gets_nothing_more():
    server = FakeServer()
    outbox = Outbox(server.send, max_queued_bytes=10)
    server.writable.clear()
    outbox.write("blocked")
    for _ in range(5):
        outbox.write("xxxx")
    assert server.aborted
    server.writable.set()
    await asyncio.sleep(0.01)
    assert texts(server) == ["blocked"]


async def test_without_a_transport_to_abort_the_reader_gets_a_close_frame():
    sent = []
    gate = asyncio.Event()

    async def send(message):  # a plain function, as Daphne's is
        if message["type"] == "websocket.send":
            await gate.wait()
        sent.append(message)

    outbox = Outbox(send, max_queued_bytes=3)
    outbox.write("blocked")
    outbox.write("over the limit")
    await asyncio.sleep(0.01)
    assert {"type": "websocket.close", "code": CLOSE_TOO_SLOW} in sent


@pytest.mark.parametrize("text", ["hola", "ñandú 🙂", "x" * 125, "x" * 126, "x" * 70_000])
async def test_a_frame_built_once_reads_back_as_the_same_text_message(text):
    from wsproto.events import TextMessage
    from wsproto.frame_protocol import FrameProtocol

    from charla.realtime.internals import wire_frame

    reader = FrameProtocol(client=True, extensions=[])
    reader.receive_bytes(wire_frame(text))
    (frame,) = list(reader.received_frames())
    assert frame.payload == text and frame.frame_finished and frame.message_finished
    assert TextMessage  # the client sees one complete text message


class RecordingTransport:
    """What uvicorn's protocol writes to its socket, one entry per write call."""

    def __init__(self):
        self.writes: list[bytes] = []

    def write(self, data):
        self.writes.append(bytes(data))

    def is_closing(self):
        return False

    def get_extra_info(self, name, default=None):
        return default


def uvicorn_outbox():
    """An outbox on a real uvicorn wsproto connection, as config.server runs it, over a recording transport."""
    from uvicorn.config import Config
    from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
    from uvicorn.server import ServerState

    config = Config(app=lambda *a: None, ws="wsproto")
    protocol = WSProtocol(config, ServerState(), {}, _loop=asyncio.get_running_loop())
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return Outbox(protocol.send, max_queued_bytes=10_000), transport


async def test_frames_written_inside_corked_reach_each_socket_in_one_write_in_order():
    from charla.realtime.internals import wire_frame
    from charla.realtime.outbox import corked

    (first, first_socket), (second, second_socket) = uvicorn_outbox(), uvicorn_outbox()
    with corked():
        for text in ("a", "b", "c"):
            first.write(text, wire_frame(text))
            second.write(text, wire_frame(text))
        assert first_socket.writes == [] and second_socket.writes == [], "held until the bundle ends"
    expected = wire_frame("a") + wire_frame("b") + wire_frame("c")
    assert first_socket.writes == [expected] and second_socket.writes == [expected]
    first.write("d", wire_frame("d"))
    assert first_socket.writes[-1] == wire_frame("d"), "outside corked(), written at once"


async def test_a_socket_closed_inside_corked_gets_the_frames_written_before_the_close():
    from charla.realtime.internals import wire_frame
    from charla.realtime.outbox import corked

    outbox, socket = uvicorn_outbox()
    with corked():
        outbox.write("last words", wire_frame("last words"))
        outbox.close(1008)
        outbox.write("after the close", wire_frame("after the close"))
    assert socket.writes == [wire_frame("last words")]
