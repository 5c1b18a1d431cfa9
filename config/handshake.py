"""uvicorn's httptools protocol with a bound on the time a request head may take (CHARLA_HEADER_TIMEOUT).

uvicorn has no such timeout: a connection that sends nothing, or a header line every few
seconds (slowloris), holds a file descriptor for as long as it likes, and 1,500 of them
starved a worker with a low file limit. Served with `--http config.handshake:HeadTimeoutProtocol`
(config/server.py).

Written against uvicorn 0.54.0 and httptools 0.9.0 (requirements.txt pins both); it relies
on these internals of uvicorn.protocols.http.httptools_impl.HttpToolsProtocol, which
tests/test_security_limits.py checks:
- `connection_made(transport)`, `connection_lost(exc)` and `self.transport`, `self.loop`;
- the parser callbacks `on_message_begin()` (the first byte of each request) and
  `on_headers_complete()` (its head is complete, called before a WebSocket upgrade hands
  the transport to the WebSocket protocol, which this bound then no longer touches).
Between keep-alive requests uvicorn's own keep-alive timeout bounds the silence; the bound
here starts again with the next request's first byte.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger(__name__)


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
        timeout = settings.CHARLA_HEADER_TIMEOUT
        if timeout > 0:
            self.head_timer = self.loop.call_later(timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        logger.debug("closing %s: no complete request head in %s s", self.client, settings.CHARLA_HEADER_TIMEOUT)
        if not self.transport.is_closing():
            self.transport.close()
