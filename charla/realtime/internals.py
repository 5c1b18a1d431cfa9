"""Every use of another library's private API, in one place, with the pinned versions it was written against.

tests/test_internals.py fails when any of these changes; check this module by hand before
upgrading one of the libraries named here (requirements.txt pins them all).

- wsproto 1.3.2, `wsproto.frame_protocol.FrameProtocol`: a server message framed once for every
  socket of a fan-out (framing a 350-byte message again per socket was a third of a delivery).
- uvicorn 0.54.0, `uvicorn.protocols.websockets.wsproto_impl.WSProtocol`: its ASGI `send` is a
  method of the connection object, whose `writable` event, `close_sent` flag and `transport`
  are what its own send checks before writing; frames are written to that transport whole
  (so never inside one of uvicorn's own: pings, close), and a reader that stopped reading is
  dropped with `transport.abort()` (ASGI has no abort; a close would wait behind the backlog).
- asgiref 3.13.0, `SyncToAsync.threadlocal.main_event_loop`: the event loop that a
  `database_sync_to_async` thread works for, so that its publishes go through that loop's hub.
- uvicorn 0.54.0 and httptools 0.9.0, `uvicorn.protocols.http.httptools_impl.HttpToolsProtocol`:
  `HeadTimeoutProtocol` bounds the time a request head may take (CHARLA_HEADER_TIMEOUT).
  uvicorn has no such timeout: a connection that sends nothing, or a header line every few
  seconds (slowloris), held a file descriptor as long as it liked, and 1,500 of them starved
  a worker with a low file limit. Served with `--http charla.realtime.internals:HeadTimeoutProtocol`
  (config/server.py). It overrides `connection_made(transport)`, `connection_lost(exc)`, and
  the parser callbacks `on_message_begin()` (the first byte of each request) and
  `on_headers_complete()` (its head is complete, called before a WebSocket upgrade hands the
  transport to the WebSocket protocol, which this bound then no longer touches), and uses
  `self.transport`, `self.loop`, `self.client`. Between keep-alive requests uvicorn's own
  keep-alive timeout bounds the silence; the bound starts again with the next request's
  first byte.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import SyncToAsync
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto.frame_protocol import FrameProtocol

from charla.conf import charla_settings

logger = logging.getLogger(__name__)

_FRAMER = FrameProtocol(client=False, extensions=[])


def wire_frame(text: str) -> bytes:
    """A server-to-client WebSocket text frame (unmasked, no extension), built once for every socket."""
    return bytes(_FRAMER.send_data(text, fin=True))


class DirectWriter:
    """Writes ready-made frames to a uvicorn wsproto connection's transport, as its send does after framing."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WSProtocol):
        self._protocol = protocol

    def ready(self) -> bool:
        """What uvicorn's send checks before it writes: not paused for a full buffer, not closing."""
        protocol = self._protocol
        return protocol.writable.is_set() and not (protocol.close_sent or protocol.transport.is_closing())

    def closing(self) -> bool:
        return self._protocol.transport.is_closing()

    def write(self, data: bytes) -> None:
        self._protocol.transport.write(data)


def direct_writer(send) -> DirectWriter | None:
    """A DirectWriter for the connection behind an ASGI `send`, if it is uvicorn's wsproto one (config/server.py)."""
    protocol = getattr(send, "__self__", None)
    return DirectWriter(protocol) if isinstance(protocol, WSProtocol) else None


def abort(send) -> bool:
    """Abort the connection behind an ASGI `send` at once, backlog and all; False if `send` does not reveal it."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    transport.abort()
    return True


def main_event_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop this thread works for, inside `sync_to_async`/`database_sync_to_async`; else None."""
    return getattr(SyncToAsync.threadlocal, "main_event_loop", None)


class HeadTimeoutProtocol(HttpToolsProtocol):
    """Closes a connection whose request head is not complete CHARLA_HEADER_TIMEOUT seconds after it began."""

    head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()  # a connection that never sends a byte is bounded too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.head_timer is None:  # the first request keeps the deadline set at connect
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        timeout = charla_settings.HEADER_TIMEOUT
        if timeout > 0:
            self.head_timer = self.loop.call_later(timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        logger.debug("closing %s: no complete request head in %s s", self.client, charla_settings.HEADER_TIMEOUT)
        if not self.transport.is_closing():
            self.transport.close()
