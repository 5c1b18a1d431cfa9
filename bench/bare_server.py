"""A bare asyncio broadcast server (websockets library, serialize once, no auth, no DB): the bench's baseline."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections import defaultdict
from datetime import UTC, datetime

from websockets.asyncio.server import broadcast, serve

HISTORY = json.dumps({"type": "historial", "mensajes": [], "seq": 0, "limited": False}, separators=(",", ":"))


class Broadcaster:
    """Rooms by URL path; each `mensaje` is serialized once and sent to every socket of its room.

    `drop_nth` / `dup_nth` (1-based, over all messages) deliberately skip or double one
    delivery, so that tests can check that the load client notices.
    """

    def __init__(self, drop_nth: int = 0, dup_nth: int = 0):
        self.rooms: dict[str, set] = defaultdict(set)
        self.seq: dict[str, int] = defaultdict(int)
        self.count = 0
        self.drop_nth, self.dup_nth = drop_nth, dup_nth

    async def handler(self, ws) -> None:
        path = ws.request.path
        room = path.rstrip("/").rsplit("/", 1)[-1] or "default"
        members = self.rooms[path]
        await ws.send(HISTORY)
        members.add(ws)
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(frame, dict) and frame.get("type") == "mensaje" and isinstance(frame.get("mensaje"), str):
                    self.publish(path, room, frame["mensaje"])
        finally:
            members.discard(ws)

    def publish(self, path: str, room: str, content: str) -> None:
        self.count += 1
        self.seq[path] += 1
        seq = self.seq[path]
        message = {
            "id": self.count,
            "autor": "bare",
            "autor_id": 0,
            "contenido": content,
            "enviado_en": datetime.now(UTC).isoformat(),
            "editado": False,
            "editado_en": None,
            "eliminado": False,
            "seq": seq,
            "sala": room,
            "client_id": None,
        }
        text = json.dumps({"type": "mensaje", "mensaje": message}, ensure_ascii=False, separators=(",", ":"))
        members = self.rooms[path]
        if self.count == self.drop_nth and members:
            members = list(members)[1:]
        broadcast(members, text)
        if self.count == self.dup_nth and members:
            broadcast([next(iter(members))], text)


async def run(host: str, port: int, drop_nth: int = 0, dup_nth: int = 0, ready=None, signals: bool = True) -> None:
    """Serve until SIGTERM/SIGINT (with `signals`) or cancellation; `ready` (an Event) is set once listening."""
    server = Broadcaster(drop_nth, dup_nth)
    async with serve(server.handler, host, port, compression=None, max_queue=None, ping_interval=None):
        if ready is not None:
            ready.set()
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        await stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--drop-nth", type=int, default=0, help="skip one delivery of the n-th message")
    parser.add_argument("--dup-nth", type=int, default=0, help="deliver the n-th message twice to one socket")
    args = parser.parse_args()
    asyncio.run(run(args.host, args.port, args.drop_nth, args.dup_nth))


if __name__ == "__main__":
    main()
