"""charla/realtime/internals.py relies on other libraries' private APIs: these fail when one of them changes."""

import asyncio
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from charla.realtime import internals

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
WRITTEN_AGAINST = {"uvicorn": "0.54.0", "wsproto": "1.3.2", "asgiref": "3.13.0", "httptools": "0.9.0"}


@pytest.mark.parametrize(("package", "written_against"), WRITTEN_AGAINST.items())
def test_the_libraries_are_the_versions_the_internals_were_written_against(package, written_against):
    pinned = re.search(rf"(?m)^{package}==(\S+)", REQUIREMENTS.read_text())
    assert pinned and pinned[1] == written_against, f"{package} must be pinned: see charla/realtime/internals.py"
    assert version(package) == written_against, f"{package} changed: check charla/realtime/internals.py, then this test"


class Transport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.written, self.aborted, self.closing = [], False, False

    def write(self, data):
        self.written.append(bytes(data))

    def is_closing(self):
        return self.closing

    def abort(self):
        self.aborted = True

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)


async def _app(scope, receive, send):  # never called: the connection is only opened
    raise AssertionError


@pytest.mark.asyncio
async def test_the_direct_writer_sees_what_uvicorns_own_send_checks():
    from uvicorn.config import Config
    from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
    from uvicorn.server import ServerState

    protocol = WSProtocol(Config(app=_app, ws="wsproto"), server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    writer = internals.direct_writer(protocol.send)
    assert writer is not None and writer.ready()
    protocol.pause_writing()  # the transport's buffer is full: uvicorn's send waits
    assert not writer.ready()
    protocol.resume_writing()
    assert writer.ready()
    writer.write(b"frame")
    assert transport.written[-1] == b"frame"
    protocol.close_sent = True
    assert not writer.ready()
    assert internals.abort(protocol.send) and transport.aborted
    assert internals.direct_writer(_app) is None and not internals.abort(_app)


def test_a_frame_built_once_is_what_wsproto_itself_sends():
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request, TextMessage

    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="charla", target="/ws/chat/general/")))
    next(server.events())
    server.send(AcceptConnection())
    text = '{"type": "mensaje", "mensaje": {"contenido": "hola ñ 🎉"}}' * 10
    assert internals.wire_frame(text) == server.send(TextMessage(data=text))


@pytest.mark.asyncio
async def test_a_database_thread_knows_the_event_loop_it_works_for():
    assert internals.main_event_loop() is None
    assert await sync_to_async(internals.main_event_loop)() is asyncio.get_running_loop()
