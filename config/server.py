"""The production ASGI server command: `python -m config.server [--host H] [--port P] [uvicorn options]`.

uvicorn with wsproto, uvloop and httptools measured best for Charla (make bench; the
numbers are in the README): against Daphne, more deliveries per second and less memory
per idle socket (28 KiB against 34 KiB at 3,000 sockets), and a write buffer that tells
the server when a reader stops reading. permessage-deflate is off: it costs ~300 KiB per
socket and half the broadcast throughput for chat-sized frames (field notes).
A connection must send its request head within CHARLA_HEADER_TIMEOUT seconds
(charla/realtime/internals.py): uvicorn itself waits forever.
"""

from __future__ import annotations

import os
import sys

# A keepalive ping every 20 s, answered within 20, finds dead peers; a reader that stops
# reading is dropped sooner, by its outbox (charla/realtime/outbox.py). Pinging 10,000 sockets every
# 5 s cost a tenth of a core. Frames over 1 MiB are cut by the server (1009); frames
# over CHARLA_FRAME_MAX_BYTES get an error frame from Charla.
DEFAULT_OPTIONS = (
    "--ws", "wsproto",
    "--ws-per-message-deflate", "false",
    "--ws-max-size", str(2**20),
    "--ws-ping-interval", "20",
    "--ws-ping-timeout", "20",
    "--loop", "uvloop",
    "--http", "charla.realtime.internals:HeadTimeoutProtocol",  # httptools, with a bound on slow request heads
    "--lifespan", "off",
    "--no-access-log",
)  # fmt: skip


def command(*, host: str = "127.0.0.1", port: int = 8000, extra: tuple[str, ...] = ()) -> list[str]:
    """The argv that serves config.asgi:application; `extra` options come last and win."""
    return [
        sys.executable, "-m", "uvicorn", "config.asgi:application",
        "--host", host, "--port", str(port), *DEFAULT_OPTIONS, *extra,
    ]  # fmt: skip


def main(argv: list[str]) -> None:
    host, port, extra = "127.0.0.1", 8000, []
    args = iter(argv)
    for arg in args:
        if arg == "--host":
            host = next(args)
        elif arg == "--port":
            port = int(next(args))
        else:
            extra.append(arg)
    argv = command(host=host, port=port, extra=tuple(extra))
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
