"""The load of one client process: its sockets, its senders' loops, and the per-phase delivery check."""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass

from bench.wsclient import Conn, Refused, Sink

WINDOW = 2  # messages each sender keeps in flight in the closed loop
CONNECT_ATTEMPTS = 3


@dataclass(frozen=True)
class Spec:
    """One socket of the plan: where it connects, as whom, and which senders share its room."""

    index: int
    host: str
    port: int
    path: str
    cookie: str | None
    sender: int  # -1 for a member that only listens
    room_senders: tuple[int, ...]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Load:
    """Connects its share of the plan's sockets and drives the senders among them."""

    def __init__(self, specs: list[Spec], nsenders: int, size: int = 100):
        self.specs = specs
        self.sink = Sink(nsenders)
        self.size = size
        self.conns: list[Conn] = []
        self.missing: list[Spec] = []  # sockets that never got their history (only the tutorial runs on without them)
        self.senders: list[Conn] = []
        self.failures: dict[str, int] = {}
        self.retries: dict[str, int] = {}
        self.tag = ""
        self.mode = ""
        self.send_until = 0.0
        self.snaps: list[tuple[float, int, int, float]] = []
        self.tasks: list[asyncio.Task] = []

    # Connecting.

    async def connect(self, concurrency: int = 100, timeout: float = 60.0, deadline: float | None = None) -> dict:
        """Open every socket, `concurrency` at a time, each with its history within `timeout` s and by `deadline`."""
        limit = asyncio.Semaphore(concurrency)
        loop = asyncio.get_running_loop()
        deadline = deadline or loop.time() + 3600

        def failed(reason: str) -> None:
            self.failures[reason[:120]] = self.failures.get(reason[:120], 0) + 1

        async def one(spec: Spec) -> None:
            async with limit:
                for attempt in range(CONNECT_ATTEMPTS):
                    if loop.time() >= deadline:
                        failed("not attempted: the connect phase ran out of time")
                        return
                    conn = Conn(self.sink, spec.host, spec.port, spec.path, spec.cookie, spec.sender)
                    conn.spec = spec
                    try:
                        async with asyncio.timeout_at(min(loop.time() + timeout, deadline)):
                            await loop.create_connection(lambda c=conn: c, spec.host, spec.port)
                            await conn.ready
                        self.conns.append(conn)
                        return
                    except TimeoutError:
                        conn.close()
                        failed("no history within the timeout")
                        return
                    except Refused as exc:
                        conn.close()
                        failed(str(exc))
                        return
                    except OSError as exc:  # reset or refused by the kernel: a real client retries
                        conn.close()
                        if attempt + 1 == CONNECT_ATTEMPTS:
                            failed(str(exc))
                            return
                        self.retries[str(exc)[:120]] = self.retries.get(str(exc)[:120], 0) + 1
                        await asyncio.sleep(0.5 * (attempt + 1))

        await asyncio.gather(*(one(spec) for spec in self.specs))
        ok = {c.spec.index for c in self.conns if self._ok(c)}
        self.missing = [spec for spec in self.specs if spec.index not in ok]
        self.senders = sorted((c for c in self.conns if c.sender >= 0 and self._ok(c)), key=lambda c: c.sender)
        return self.stats()

    @staticmethod
    def _ok(conn: Conn) -> bool:
        ready = conn.ready
        return ready.done() and not ready.cancelled() and ready.exception() is None

    def ready_count(self) -> int:
        return sum(1 for c in self.conns if self._ok(c) and not c.closed)

    def stats(self) -> dict:
        sink = self.sink
        return {
            "sockets": len(self.conns),
            "ready": self.ready_count(),
            "failures": dict(self.failures),
            "retries": dict(self.retries),
            "deliveries": sink.deliveries,
            "sent": sum(c.sent for c in self.senders),
            "other": sink.other,
            "stray": sink.stray,
            "errors": sink.errors,
            "error_samples": list(sink.error_samples),
            "closes": dict(sink.closes),
            "cpu": cpu_seconds(),
            "at": time.monotonic(),
        }

    # Phases.

    def start_phase(
        self,
        tag: str,
        mode: str,
        start_at: float,
        measure_from: float,
        measure_to: float,
        rate: float = 0.0,
        nsenders: int = 1,
    ) -> None:
        """Schedule a phase; times are time.monotonic() values shared by every process on the machine."""
        loop = asyncio.get_running_loop()
        self.tag, self.mode, self.send_until = tag, mode, measure_to
        lat = mode == "open"
        self.sink.phase(tag, int(measure_from * 1e9) if lat else 0, int(measure_to * 1e9) if lat else 0)
        for conn in self.conns:
            conn.seen = [None] * self.sink.nsenders
        for conn in self.senders:
            conn.sent = 0
            conn.on_echo = self._echo if mode == "closed" else None
        self.snaps = []
        loop.call_at(measure_from, self._snap)
        loop.call_at(measure_to, self._snap)
        if mode == "closed":
            loop.call_at(start_at, self._start_closed)
        elif mode == "open" and rate > 0:
            interval = 1.0 / rate
            for conn in self.senders:
                first = start_at + interval * conn.sender / nsenders
                self.tasks.append(loop.create_task(self._open_loop(conn, first, interval)))

    def _start_closed(self) -> None:
        for conn in self.senders:
            for _ in range(WINDOW):
                if not conn.closed:
                    conn.send_message(self.tag, self.size)

    def _echo(self, conn: Conn) -> None:
        if time.monotonic() < self.send_until and not conn.closed:
            conn.send_message(self.tag, self.size)

    async def _open_loop(self, conn: Conn, first: float, interval: float) -> None:
        loop = asyncio.get_running_loop()
        k = 0
        while not conn.closed:
            at = first + k * interval
            if at >= self.send_until:
                break
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            conn.send_message(self.tag, self.size)
            k += 1

    def _snap(self) -> None:
        self.snaps.append((time.monotonic(), self.sink.deliveries, sum(c.sent for c in self.senders), cpu_seconds()))

    def phase_result(self) -> dict:
        """The window's counts and this process's CPU over it; sent messages per sender."""
        self.tasks = [t for t in self.tasks if not t.done()]
        out = {"sent": {c.sender: c.sent for c in self.senders}, "window": None}
        if len(self.snaps) == 2:
            (t0, d0, s0, c0), (t1, d1, s1, c1) = self.snaps
            out["window"] = {"seconds": t1 - t0, "deliveries": d1 - d0, "sent": s1 - s0, "cpu": c1 - c0}
        return out

    def check(self, sent: dict[int, int]) -> dict:
        """Compare what every socket got with what was sent to its room: lost, duplicated, unexpected."""
        expected = distinct = received = unexpected = 0
        for conn in self.conns:
            if not self._ok(conn):
                continue
            mine = set(conn.spec.room_senders)
            for s, seen in enumerate(conn.seen):
                if seen is None:
                    continue
                if s not in mine:
                    unexpected += sum(seen)
                    continue
                n = sent.get(s, 0)
                head = seen[:n]
                distinct += len(head) - head.count(0)
                received += sum(head)
                unexpected += sum(seen[n:])
            expected += sum(sent.get(s, 0) for s in mine)
        for spec in self.missing:  # a member refused at connect lost every message of its room
            expected += sum(sent.get(s, 0) for s in spec.room_senders)
        return {
            "expected": expected,
            "distinct": distinct,
            "lost": expected - distinct,
            "duplicated": received - distinct,
            "unexpected": unexpected,
        }

    async def sleep(self, seconds: float) -> dict:
        await asyncio.sleep(seconds)
        return self.stats()

    def latencies(self) -> bytes:
        return self.sink.latencies.tobytes()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for conn in self.conns:
            conn.close()
        await asyncio.sleep(0.2)
