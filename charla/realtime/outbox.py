"""Writing frames to one socket from synchronous code, in order, without a task per frame.

An ASGI server's send is a coroutine that nearly always finishes without waiting
(Daphne's never waits; uvicorn's waits only while the socket's write buffer is over
its high-water mark). So the coroutine is run right away, as an eager task would be
(asyncio.eager_task_factory, Python 3.12), and a task is made only for a send that
has to wait: frames written meanwhile queue behind it. A reader too slow for its
queue is disconnected, as Mattermost closes a full send queue; it resumes from the database.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from contextlib import contextmanager
from typing import Any

from charla.realtime.internals import abort, direct_writer

logger = logging.getLogger(__name__)


class _Corked(threading.local):
    outboxes: list[Outbox] | None = None  # holding frames back until the end of corked()


_corked = _Corked()  # per thread: each event loop's sockets are written from its own thread


@contextmanager
def corked() -> Iterator[None]:
    """Frames written inside go out at the end, each socket's in one write.

    A batch of sends reaches a process as one bundle; a socket that gets its frames in one
    system call instead of one each costs the server (and the client) a fraction.
    """
    if _corked.outboxes is not None:  # nested: the outer one flushes
        yield
        return
    _corked.outboxes = []
    try:
        yield
    finally:
        outboxes, _corked.outboxes = _corked.outboxes, None
        for outbox in outboxes:
            outbox.flush()


# 1013, "Try Again Later" (RFC 6455 section 7.4.1): the client reconnects and resumes.
CLOSE_TOO_SLOW = 1013


class _Resume:
    """Await the rest of a coroutine that was started by hand and is waiting on `pending`."""

    def __init__(self, coro: Coroutine, pending: Any):
        self.coro, self.pending = coro, pending

    def __await__(self) -> Generator[Any, None, Any]:
        pending = self.pending
        while True:
            try:
                yield pending  # the running task waits for it, as it would have for the coroutine
            except BaseException as exc:  # noqa: BLE001 - handed to the coroutine, as a task would
                step = self.coro.throw
                arg: Any = exc
            else:
                step, arg = self.coro.send, None
            try:
                pending = step(arg)
            except StopIteration as stop:
                return stop.value


class Outbox:
    """The frames on their way to one socket."""

    def __init__(self, send: Callable[[dict], Awaitable[None]], *, max_queued_bytes: int):
        self._send = send
        self._max = max_queued_bytes
        self._queue: deque[str] | None = None  # set while a send waits
        self._queued_bytes = 0
        self.closed = False
        # Ready-made frames go straight to uvicorn's connection (charla.realtime.internals).
        self._direct = direct_writer(send)
        self._held: list[bytes] | None = None  # frames held back inside corked()

    def write(self, text: str, frame: bytes | None = None) -> None:
        """Send `text`; `frame` is the same text already framed (wire_frame), when the caller has it."""
        if self.closed:
            return
        direct = self._direct
        if frame is not None and direct is not None and self._queue is None:
            if direct.ready():
                held_by = _corked.outboxes
                if held_by is None:
                    direct.write(frame)
                elif self._held is None:
                    self._held = [frame]
                    held_by.append(self)
                else:
                    self._held.append(frame)
                return
        self.flush()  # what was held back goes first
        if self._queue is not None:
            self._queued_bytes += len(text)
            if self._queued_bytes > self._max:
                self.drop_reader()
                return
            self._queue.append(text)
            return
        coro = self._send({"type": "websocket.send", "text": text})
        try:
            pending = coro.send(None)
        except StopIteration:
            return
        except Exception:  # the connection is gone; its disconnect is on its way
            self.closed = True
            return
        self._queue = deque()
        asyncio.get_running_loop().create_task(self._drain(coro, pending))

    def flush(self) -> None:
        """Write the frames held back by corked(), in one write."""
        held, self._held = self._held, None
        if held and not self.closed and not self._direct.closing():
            # Nothing ran since their checks in write() but other frames' writes, held as well.
            self._direct.write(held[0] if len(held) == 1 else b"".join(held))

    def drop_reader(self) -> None:
        """Disconnect a reader that stopped reading; it resumes from the database when it comes back.

        A close frame would wait behind the backlog it is not reading, and uvicorn's own
        keepalive timeout calls transport.close(), which also waits for the backlog to
        drain, forever. ASGI has no abort, so the server's transport is aborted when the
        send callable reveals it (uvicorn's is a method of its protocol object).
        """
        if abort(self._send):
            self.closed = True
            self._held = None
            self._queue.clear()
        else:
            self.close(CLOSE_TOO_SLOW)

    def close(self, code: int) -> None:
        """Close the socket after what is already queued is dropped (the client resumes from the database)."""
        if self.closed:
            return
        self.flush()  # frames written before the close go before it
        self.closed = True
        if self._queue is not None:
            self._queue.clear()
        asyncio.get_running_loop().create_task(self._close(code))

    async def _close(self, code: int) -> None:
        try:
            await self._send({"type": "websocket.close", "code": code})
        except Exception:
            pass

    async def _drain(self, coro: Coroutine, pending: Any) -> None:
        try:
            await _Resume(coro, pending)
            while self._queue and not self.closed:
                text = self._queue.popleft()
                self._queued_bytes -= len(text)
                await self._send({"type": "websocket.send", "text": text})
        except Exception:
            self.closed = True
        finally:
            self._queue = None
            self._queued_bytes = 0
