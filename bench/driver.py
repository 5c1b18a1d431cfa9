"""Runs one scenario against running servers: connect, settle, closed loop, open loop, delivery checks."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from bench import stats
from bench.scenarios import Scenario, tutorial_room
from bench.servers import Proc, cpu_of
from bench.workers import Pool, WorkerError

BUSY = 0.25  # cores used by processes outside the bench above which figures are flagged


@dataclass
class Settings:
    duration: float = 8.0
    warmup: float = 2.0
    drain_timeout: float = 30.0
    connect_timeout: float = 300.0  # the whole connect phase
    socket_timeout: float = 60.0  # one socket: handshake and history
    settle_min: float = 1.5
    settle_max: float = 60.0
    client_procs: int = 1
    concurrency: int = 100
    size: int = 100
    wait_quiet: float = 0.0  # seconds to wait for an idle machine before a scenario


def log(line: str) -> None:
    print(line, flush=True)


def fmt(n: float) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else f"{n:.0f}"


class Run:
    """One scenario against one server setup (its processes already listening)."""

    def __init__(self, scenario: Scenario, server: str, procs: list[Proc], cookies, settings: Settings, support=list):
        self.scenario, self.server, self.procs, self.settings = scenario, server, procs, settings
        self.support = support  # returns the pids of the server's helpers (Redis, database backends)
        self.name = f"{scenario.name}/{server}"
        rooms = tuple(map(tutorial_room, scenario.rooms)) if server == "tutorial" else None
        specs = scenario.specs([p.port for p in procs], cookies, rooms)
        n = max(1, min(settings.client_procs, len(specs)))
        self.nsenders = len(scenario.sender_rooms)
        self.pool = Pool([specs[i::n] for i in range(n)], self.nsenders, settings.size)
        self.result: dict = {"scenario": scenario.name, "label": scenario.label, "server": server}
        self.result.update(sockets=scenario.sockets, senders=self.nsenders, server_processes=len(procs))

    def execute(self) -> dict:
        try:
            self._background()
            self._connect()
            for mode in self.scenario.phases:
                rate = 0.0
                if mode == "open":
                    rate = self.result.get("closed", {}).get("messages_per_s", 0) / 2
                    if not rate:
                        self.result["open"] = {"skipped": "no closed-loop rate to halve"}
                        continue
                self.result[mode] = self._phase(mode, rate)
        except (WorkerError, RuntimeError) as exc:
            self.result["error"] = str(exc)
            log(f"  !! {self.name}: {exc}")
        finally:
            self._finish()
        return self.result

    # Steps.

    def _connect(self) -> None:
        s = self.settings
        total = self.scenario.sockets
        rss0 = sum(p.rss_bytes() for p in self.procs) if self.scenario.measure_memory else 0
        t0 = time.monotonic()
        log(f"  {self.name}: connecting {total:,} sockets ({s.concurrency} at a time)")

        def tick():
            log(f"    ready {self.pool.total('ready'):,}/{total:,}  {self._trouble()}")

        args = {"concurrency": max(1, s.concurrency // len(self.pool.pipes)), "timeout": s.socket_timeout}
        args["deadline"] = t0 + s.connect_timeout
        got = self.pool.call("connect", args, timeout=s.connect_timeout + 30, tick=tick)
        ready = sum(g["ready"] for g in got)
        failures: dict[str, int] = {}
        retries: dict[str, int] = {}
        for g in got:
            for reason, count in g["failures"].items():
                failures[reason] = failures.get(reason, 0) + count
            for reason, count in g["retries"].items():
                retries[reason] = retries.get(reason, 0) + count
        self.result.update(ready=ready, connect_s=round(time.monotonic() - t0, 2), connect_failures=failures)
        self.result["connect_retries"] = retries
        if retries:
            log(f"  {self.name}: connects retried: {retries}")
        log(f"  {self.name}: {ready:,}/{total:,} ready in {self.result['connect_s']} s")
        if ready < total and (self.server != "tutorial" or not ready):
            raise RuntimeError(f"only {ready:,} of {total:,} sockets got their history: {failures}")
        if ready < total:  # the tutorial refuses some sockets: measured anyway, their messages counted lost
            self.result["not_ready"] = total - ready
            log(f"  !! {self.name}: {total - ready:,} sockets refused, measuring without them: {failures}")
        self._settle()
        if self.scenario.measure_memory:
            rss1 = sum(p.rss_bytes() for p in self.procs)
            self.result["memory"] = {
                "rss_before": rss0,
                "rss_with_sockets": rss1,
                "bytes_per_socket": round((rss1 - rss0) / total),
            }
            log(f"  {self.name}: memory {(rss1 - rss0) / total / 1024:.1f} KiB per idle socket")

    def _background(self) -> None:
        """How busy the machine is before the load starts (other people's work skews every figure);
        with wait_quiet, wait a while for it to calm down."""
        deadline = time.monotonic() + self.settings.wait_quiet
        while True:
            busy0, _ = stats.machine_busy()
            t0 = time.monotonic()
            self.pool.pump(1.0)
            busy = (stats.machine_busy()[0] - busy0) / (time.monotonic() - t0)
            if busy <= BUSY or time.monotonic() >= deadline:
                break
        self.result["machine_busy_before"] = round(busy, 2)
        if busy > BUSY:
            log(f"  !! {self.name}: the machine is busy before the load ({busy:.2f} cores in use): figures will be low")

    def _settle(self) -> None:
        """Wait until presence traffic stops (no frame for a second), within settle_max."""
        s = self.settings
        t0 = time.monotonic()
        last, quiet_since, history = -1, t0, []
        while True:
            frames = sum(g["other"] + g["stray"] + g["deliveries"] for g in self.pool.call("sleep", {"seconds": 0.5}))
            now = time.monotonic()
            history.append((now, frames))
            if frames != last:
                last, quiet_since = frames, now
            if now - t0 >= s.settle_min and now - quiet_since >= 1.0:
                self.result["settle_s"] = round(now - t0, 1)
                return
            if now - t0 >= s.settle_max:
                (t_a, f_a), (t_b, f_b) = history[max(0, len(history) - 5)], history[-1]
                rate = (f_b - f_a) / max(1e-6, t_b - t_a)
                self.result.update(settle_s=round(now - t0, 1), settled=False, presence_frames_per_s=round(rate))
                log(
                    f"  {self.name}: presence traffic still flowing after {s.settle_max:.0f} s"
                    f" ({fmt(rate)} frames/s, {fmt(frames)} so far); measuring anyway"
                )
                return

    def _phase(self, mode: str, rate: float) -> dict:
        s = self.settings
        tag = secrets.token_hex(3) + mode[0]
        start_at = time.monotonic() + 0.5
        t_from, t_to = start_at + s.warmup, start_at + s.warmup + s.duration
        args = {"tag": tag, "mode": mode, "start_at": start_at, "measure_from": t_from, "measure_to": t_to}
        self.pool.call("start_phase", {**args, "rate": rate / self.nsenders, "nsenders": self.nsenders})
        what = f"{mode} loop" + (f" at {rate:.1f} msgs/s" if mode == "open" else f", {self.nsenders} senders × 2")
        log(f"  {self.name}: {what}: {s.warmup:.0f} s warm-up + {s.duration:.0f} s")
        self.pool.pump(max(0.0, t_from - time.monotonic()))
        helpers = self.support()
        before = self._cpu(helpers)
        self.pool.pump(max(0.0, t_to - time.monotonic()), tick=self._progress(mode, t_from))
        after = self._cpu(helpers)
        windows: list = [None]
        for _ in range(50):  # a busy client process runs its end-of-window callback late
            self.pool.pump(0.2)
            windows = [r["window"] for r in self.pool.call("phase_result")]
            if all(windows):
                break
        else:
            raise RuntimeError("a client process did not close its measurement window within 10 s")
        seconds = sum(w["seconds"] for w in windows) / len(windows)
        span = after[2] - before[2]
        client = sum(w["cpu"] / w["seconds"] for w in windows)
        server = sum(after[0]) - sum(before[0])
        machine, helped = (after[1] - before[1]) / span, (after[3] - before[3]) / span
        out = {
            "tag": tag,
            "seconds": round(seconds, 3),
            "deliveries_per_s": round(sum(w["deliveries"] / w["seconds"] for w in windows)),
            "messages_per_s": round(sum(w["sent"] / w["seconds"] for w in windows), 1),
            "client_cpu": [round(w["cpu"] / w["seconds"], 2) for w in windows],
            "server_cpu": [round((a - b) / span, 2) for a, b in zip(after[0], before[0], strict=True)],
            "helpers_cpu": round(helped, 2),  # Redis and database backends
            "machine_cpu_busy": round(machine, 2),
            "others_cpu": round(max(0.0, machine - client - server / span - helped), 2),
        }
        if out["others_cpu"] > BUSY:
            log(f"  !! {self.name}: other processes used {out['others_cpu']} cores during the {mode} loop")
        if mode == "open":
            out["target_messages_per_s"] = round(rate, 1)
        out.update(self._drain(mode))
        if mode == "open":
            out.update(stats.latency_summary(self.pool.call("latencies")))
        lat = f", p50 {out['p50_ms']} ms p99 {out['p99_ms']} ms p99.9 {out['p999_ms']} ms" if mode == "open" else ""
        log(
            f"  {self.name}: {mode}: {fmt(out['deliveries_per_s'])} deliveries/s, {out['messages_per_s']} msgs/s"
            f"{lat}; lost {out['lost']}, duplicated {out['duplicated']}; client CPU {out['client_cpu']},"
            f" server CPU {out['server_cpu']}"
        )
        return out

    def _drain(self, mode: str) -> dict:
        """Wait (bounded) until every sent message reached every member, then count by ids."""
        deadline = time.monotonic() + self.settings.drain_timeout
        t0 = time.monotonic()
        progress = (-1, t0)  # the tutorial loses messages for good: stop once nothing arrives for 5 s
        while True:
            sent: dict[int, int] = {}
            for r in self.pool.call("phase_result"):
                sent.update(r["sent"])
            check = stats.add_checks(self.pool.call("check", {"sent": sent}))
            now = time.monotonic()
            if check["lost"] != progress[0]:
                progress = (check["lost"], now)
            stalled = self.server == "tutorial" and now - progress[1] >= 5.0
            if check["lost"] == 0 or now > deadline or stalled:
                break
            log(f"    {self.name} {mode}: waiting for {check['lost']:,} deliveries")
            self.pool.pump(1.0)
        if check["lost"] == 0:
            self.pool.pump(0.5)  # late duplicates
            check = stats.add_checks(self.pool.call("check", {"sent": sent}))
        check["sent"] = sum(sent.values())
        check["drain_s"] = round(time.monotonic() - t0, 1)
        return check

    # Readings.

    def _cpu(self, helpers: list[int]) -> tuple[list[float], float, float, float]:
        busy, _total = stats.machine_busy()
        mine = [p.cpu_seconds() for p in self.procs]
        return mine, busy, time.monotonic(), sum(cpu_of(pid) for pid in helpers)

    def _counts(self) -> dict:
        got = self.pool.call("sleep", {"seconds": 0})
        closes: dict[str, int] = {}
        samples: list[str] = []
        for g in got:
            for code, count in g["closes"].items():
                closes[code] = closes.get(code, 0) + count
            samples += g["error_samples"]
        return {"error_frames": sum(g["errors"] for g in got), "error_samples": samples[:3], "closes": closes}

    def _trouble(self) -> str:
        errors, closes = self.pool.total("errors"), sum(sum(s.get("closes", {}).values()) for s in self.pool.stats)
        return f"errors {errors} closes {closes}" if errors or closes else ""

    def _progress(self, mode: str, t_from: float):
        last: list[float] = []

        def tick():
            if not all(self.pool.stats):
                return
            at, total = min(s["at"] for s in self.pool.stats), self.pool.total("deliveries")
            rate = f" ({fmt((total - last[1]) / max(1e-6, at - last[0]))}/s)" if last and at > last[0] else ""
            last[:] = [at, total]
            log(f"    {mode} t={at - t_from:4.1f}s deliveries {total:,}{rate} {self._trouble()}")

        return tick

    def _finish(self) -> None:
        try:
            self.result.update(self._counts())
        except WorkerError:
            pass
        found = [p.tracebacks() for p in self.procs]
        if any(count for count, _ in found):
            self.result["server_tracebacks"] = sum(count for count, _ in found)
            self.result["server_traceback_sample"] = next(text for count, text in found if count)
            log(f"  !! {self.name}: {self.result['server_tracebacks']} tracebacks in the server log; the first:")
            log(self.result["server_traceback_sample"])
        dead = [p for p in self.procs if not p.alive()]
        if dead:
            self.result["server_died"] = {p.name: p.tail(20) for p in dead}
            log(f"  !! {self.name}: server process died:\n{dead[0].tail(20)}")
        try:
            self.pool.call("close", timeout=30)
        except WorkerError:
            pass
        self.pool.close()
