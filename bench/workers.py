"""Client processes: each runs a Load in its own event loop and answers the driver's commands over a pipe."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import traceback
from multiprocessing.connection import wait

from bench.load import Load, Spec

ASYNC_COMMANDS = {"connect", "close", "sleep"}


def _main(pipe, specs: list[Spec], nsenders: int, size: int) -> None:
    try:
        asyncio.run(_serve(pipe, Load(specs, nsenders, size)))
    except KeyboardInterrupt:
        pass


async def _serve(pipe, load: Load) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue()

    def readable() -> None:
        while pipe.poll():
            inbox.put_nowait(pipe.recv())

    loop.add_reader(pipe.fileno(), readable)

    async def answer(ident: int, command: str, args: dict) -> None:
        try:
            method = getattr(load, command)
            result = await method(**args) if command in ASYNC_COMMANDS else method(**args)
            pipe.send(("ok", ident, result))
        except Exception:
            pipe.send(("error", ident, traceback.format_exc()))

    running = set()
    while True:
        ident, command, args = await inbox.get()
        if command == "quit":
            break
        if command == "stats":
            pipe.send(("stats", ident, load.stats()))
            continue
        task = loop.create_task(answer(ident, command, args))
        running.add(task)
        task.add_done_callback(running.discard)
    await load.close()


class WorkerError(RuntimeError):
    """A client process failed, died or did not answer in time."""


class Pool:
    """The driver's side: start the client processes, send each a command, gather the answers."""

    def __init__(self, shares: list[list[Spec]], nsenders: int, size: int = 100):
        ctx = multiprocessing.get_context("spawn")
        self.pipes, self.procs = [], []
        for share in shares:
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_main, args=(theirs, share, nsenders, size), daemon=True)
            proc.start()
            theirs.close()
            self.pipes.append(ours)
            self.procs.append(proc)
        self.stats: list[dict] = [{} for _ in shares]
        self._ident = 0

    def call(self, command: str, args: list[dict] | dict | None = None, timeout: float = 120.0, tick=None) -> list:
        """Run a command in every process (per-process args in a list); `tick()` runs about every second."""
        args = args if isinstance(args, list) else [args or {}] * len(self.pipes)
        self._ident += 1
        ident = self._ident
        for pipe, a in zip(self.pipes, args, strict=True):
            pipe.send((ident, command, a))
        results: dict[int, object] = {}
        deadline = time.monotonic() + timeout
        next_tick = time.monotonic() + 1.0
        while len(results) < len(self.pipes):
            now = time.monotonic()
            if now > deadline:
                raise WorkerError(f"client processes did not finish {command!r} within {timeout:.0f} s")
            for proc in self.procs:
                if not proc.is_alive():
                    raise WorkerError(f"a client process died (exit code {proc.exitcode}) during {command!r}")
            for pipe in wait(self.pipes, timeout=max(0.0, min(next_tick, deadline) - now)):
                try:
                    kind, got, payload = pipe.recv()
                except (EOFError, OSError) as exc:
                    raise WorkerError(f"lost a client process during {command!r}: {exc!r}") from None
                i = self.pipes.index(pipe)
                if kind == "stats":
                    self.stats[i] = payload
                elif got == ident and kind == "ok":
                    results[i] = payload
                elif got == ident:
                    raise WorkerError(f"client process failed in {command!r}:\n{payload}")
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + 1.0
                for pipe in self.pipes:
                    pipe.send((0, "stats", {}))
                if tick is not None:
                    tick()
        return [results[i] for i in range(len(self.pipes))]

    def pump(self, seconds: float, tick=None) -> None:
        """Wait, keeping the live counts fresh."""
        self.call("sleep", {"seconds": seconds}, timeout=seconds + 60, tick=tick)

    def total(self, key: str) -> int:
        return sum(s.get(key, 0) for s in self.stats)

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send((0, "quit", {}))
            except OSError:
                pass
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
