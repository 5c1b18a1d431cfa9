"""A lean WebSocket client connection: raw asyncio protocol, hand-written upgrade and frame parser."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from array import array
from collections import Counter

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
MSG_PREFIX = b'{"type":"mensaje","mensaje":'
HISTORY_PREFIX = b'{"type":"historial"'
ERROR_PREFIX = b'{"type":"error"'
# The seed tutorial's server (bench/tutorial_app) writes its frames with json.dumps' default separators,
# and its errors as {"error": ...}.
MSG_PREFIX_SPACED = b'{"type": "mensaje", "mensaje": '
HISTORY_PREFIX_SPACED = b'{"type": "historial"'
ERROR_PREFIX_BARE = b'{"error"'
# The marker inside a message's text: ~<tag>:<sender, 4 digits><n, 8 digits>:<monotonic ns, 19 digits>:
# then padding; one int() reads sender and n together.
ID_W, TIME_W = 12, 19
SEQ_SPAN = 10**8
# A message frame's text cannot hold its marker before this offset ('{"type":"mensaje","mensaje":{"id":').
MARKER_MIN_OFFSET = 34
MAX_HEAD = 64 * 1024


def mask_payload(payload: bytes, key: bytes) -> bytes:
    """XOR the payload with the 4-byte masking key (RFC 6455 section 5.3)."""
    n = len(payload)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def client_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One final, masked client frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    key = os.urandom(4)
    return head + key + mask_payload(payload, key)


def marker(tag: str) -> bytes:
    """The bytes that open every message text of one phase."""
    return f"~{tag}:".encode()


def message_text(tag: str, sender: int, n: int, t_ns: int, size: int = 100) -> str:
    """A message text carrying its marker, padded to `size` characters."""
    head = f"~{tag}:{sender * SEQ_SPAN + n:0{ID_W}d}:{t_ns:0{TIME_W}d}:"
    return head + "x" * max(0, size - len(head))


def message_frame(text: str) -> bytes:
    """The client frame that sends `text` as a chat message."""
    return client_frame(json.dumps({"type": "mensaje", "mensaje": text}, separators=(",", ":")).encode())


def upgrade_request(host: str, port: int, path: str, cookie: str | None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Origin: http://{host}:{port}",
    ]
    if cookie:
        lines.append(f"Cookie: sessionid={cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Sink:
    """What every connection of one client process counts: deliveries, latencies, errors, closes."""

    def __init__(self, nsenders: int):
        self.nsenders = nsenders
        self.tag = b"~none:"
        self.deliveries = 0
        self.stray = 0  # message frames without this phase's marker
        self.other = 0  # presence, typing and other frames
        self.errors = 0
        self.error_samples: list[str] = []
        self.closes: Counter[str] = Counter()
        self.latencies = array("q")
        self.lat_from = self.lat_to = 0

    def phase(self, tag: str, lat_from_ns: int = 0, lat_to_ns: int = 0) -> None:
        self.tag = marker(tag)
        self.deliveries = self.stray = 0
        self.latencies = array("q")
        self.lat_from, self.lat_to = lat_from_ns, lat_to_ns


class Conn(asyncio.Protocol):
    """One chat socket: upgrade, parse server frames, count tagged deliveries per (sender, n)."""

    def __init__(self, sink: Sink, host: str, port: int, path: str, cookie: str | None = None, sender: int = -1):
        self.sink, self.host, self.port, self.path, self.cookie = sink, host, port, path, cookie
        self.sender = sender
        self.on_echo = None  # called with the conn when its own message comes back
        self.transport = None
        self.head: bytearray | None = bytearray()
        self.buf = bytearray()
        self.frag: bytearray | None = None
        self.ready = asyncio.get_running_loop().create_future()
        self.closed = False
        self.close_sent = False
        self.seen: list[bytearray | None] = [None] * sink.nsenders
        self.sent = 0

    # asyncio.Protocol

    def connection_made(self, transport):
        self.transport = transport
        transport.write(upgrade_request(self.host, self.port, self.path, self.cookie))

    def connection_lost(self, exc):
        self._ended("dropped", ConnectionError(f"connection lost ({exc or 'closed'})"))
        self.closed = True

    def data_received(self, data):
        if self.head is not None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > MAX_HEAD:
                    self._fail("response head too long")
                return
            status = bytes(self.head[: self.head.find(b"\r\n")]).decode("latin-1")
            if status.split(" ", 2)[1:2] != ["101"]:
                self._fail(f"handshake refused: {status}")
                return
            self.buf = self.head[end + 4 :]
            self.head = None
        else:
            self.buf += data
        self._parse(time.monotonic_ns())

    # Frames.

    def _parse(self, now: int) -> None:
        buf = self.buf
        size = len(buf)
        sink = self.sink
        tag = sink.tag
        skip = len(tag)
        lat_from, lat_to = sink.lat_from, sink.lat_to
        seen_all = self.seen
        me = self.sender
        count = 0
        pos = 0
        while size - pos >= 2:
            b0 = buf[pos]
            length = buf[pos + 1]
            if length < 126:
                start = pos + 2
            elif length == 126:
                if size - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            else:
                self._fail("server sent a masked frame")
                return
            end = start + length
            if end > size:
                break
            pos = end
            if b0 == 0x81:  # a whole text frame
                # The hot path, inlined: a message of this phase ('m' of "mensaje" and its marker);
                # the spaced prefix (the tutorial's) is only tried when the compact one fails.
                i = buf.find(tag, start + MARKER_MIN_OFFSET, end)
                if i < 0 or (
                    (buf[start + 9] != 109 or not buf.startswith(MSG_PREFIX, start))
                    and not buf.startswith(MSG_PREFIX_SPACED, start)
                ):
                    self._text(buf, start, end, now)
                    continue
                i += skip
                s, n = divmod(int(buf[i : i + ID_W]), SEQ_SPAN)
                count += 1
                if lat_to:
                    t = int(buf[i + ID_W + 1 : i + ID_W + 1 + TIME_W])
                    if lat_from <= t < lat_to:
                        sink.latencies.append(now - t)
                seen = seen_all[s]
                try:
                    seen[n] += 1
                except TypeError:  # first from this sender
                    seen = seen_all[s] = bytearray(max(4096, 2 * n))
                    seen[n] = 1
                except IndexError:
                    seen.extend(bytes(max(n + 1, len(seen))))
                    seen[n] += 1
                except ValueError:
                    pass  # 255 copies already: saturate
                if s == me and self.on_echo is not None:
                    self.on_echo(self)
                continue
            opcode = b0 & 0x0F
            if opcode in (OP_TEXT, OP_BINARY):
                self.frag = bytearray(buf[start:end])
            elif opcode == OP_CONT and self.frag is not None:
                self.frag += buf[start:end]
                if b0 & 0x80:
                    whole, self.frag = self.frag, None
                    self._whole(whole, now)
            elif opcode == OP_PING:
                self.transport.write(client_frame(bytes(buf[start:end]), OP_PONG))
            elif opcode == OP_CLOSE:
                code = int.from_bytes(buf[start : start + 2], "big") if length >= 2 else 1005
                sink.deliveries += count
                self._closed_by_server(code)
                return
        sink.deliveries += count
        if pos:
            del buf[:pos]

    def _whole(self, payload: bytearray, now: int) -> None:
        """A text message that came in fragments: parse it as one unfragmented frame."""
        n = len(payload)
        head = bytes((0x81, n)) if n < 126 else bytes((0x81, 126)) + n.to_bytes(2, "big")
        if n >= 65536:
            head = bytes((0x81, 127)) + n.to_bytes(8, "big")
        saved, self.buf = self.buf, bytearray(head) + payload
        self._parse(now)
        self.buf = saved

    def _text(self, buf, start: int, end: int, now: int) -> None:
        """Any other text frame: the history (ready), an error, or something to ignore."""
        sink = self.sink
        if buf.startswith(MSG_PREFIX, start) or buf.startswith(MSG_PREFIX_SPACED, start):
            sink.stray += 1
        elif buf.startswith(HISTORY_PREFIX, start) or buf.startswith(HISTORY_PREFIX_SPACED, start):
            if not self.ready.done():
                self.ready.set_result(None)
        elif buf.startswith(ERROR_PREFIX, start) or buf.startswith(ERROR_PREFIX_BARE, start):
            sink.errors += 1
            if len(sink.error_samples) < 5:
                sink.error_samples.append(bytes(buf[start : min(end, start + 300)]).decode("utf-8", "replace"))
        else:
            sink.other += 1

    # Sending and closing.

    def send_message(self, tag: str, size: int = 100) -> None:
        """Send this sender's next message of the phase `tag`."""
        text = message_text(tag, self.sender, self.sent, time.monotonic_ns(), size)
        self.sent += 1
        self.transport.write(message_frame(text))

    def close(self, code: int = 1000) -> None:
        """Start the closing handshake (or just drop the transport before the upgrade)."""
        if self.transport is None or self.closed:
            return
        if self.head is None and not self.close_sent:
            self.close_sent = True
            self.transport.write(client_frame(code.to_bytes(2, "big"), OP_CLOSE))
        self.closed = True
        self.transport.close()

    def _closed_by_server(self, code: int) -> None:
        self._ended(str(code), Refused(f"closed by the server with code {code} before the history"))
        self.close()

    def _fail(self, reason: str) -> None:
        self._ended(reason[:60], Refused(reason))
        self.closed = True
        self.transport.close()

    def _ended(self, reason: str, before_ready: ConnectionError) -> None:
        """Count a close of a ready socket (unless we closed it); fail the connect of one that was not ready yet."""
        if not self.ready.done():
            self.ready.set_exception(before_ready)
        elif not self.closed and not self.ready.cancelled() and self.ready.exception() is None:
            self.sink.closes[reason] += 1


class Refused(ConnectionError):
    """The server answered and refused the socket (an HTTP status or a close code): retrying will not help."""
