"""Real Charla server processes for tests: the production server command (config.server) on the test database."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from django.conf import settings

from config.server import command as server_command
from tests.conftest import ORIGIN, session_cookie
from tests.support.net import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SERVER_APPLICATION_NAME = "charla-test-server"


def test_database_url() -> str:
    """The URL of the database pytest-django set up for this run, for other processes to share."""
    db = settings.DATABASES["default"]
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    # Named, so that fault tests can end the servers' connections and not their own.
    return f"postgres://{auth}@{host}/{db['NAME']}?application_name={SERVER_APPLICATION_NAME}"


def server_env(*, redis_url: str | None, static_root: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHARLA_"))}
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,  # sessions made here must be valid there
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_STATIC_ROOT=static_root,
        DATABASE_URL=test_database_url(),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def collect_static(target: str) -> None:
    env = server_env(redis_url=None, static_root=target)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


@dataclass
class Server:
    """One server process serving config.asgi:application."""

    port: int
    proc: subprocess.Popen
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()

    def restart(self) -> None:
        """Start the process again on the same port (after stop())."""
        self.proc = start_server(self.env, self.log.parent, port=self.port, args=self.args).proc

    def rss_bytes(self) -> int:
        """The server process's resident memory."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, room: str, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/{room}/" + (f"?{query}" if query else "")

    def connect(self, user, room: str, query: str = ""):
        """A websockets client logged in as `user` (sessions live in the shared database)."""
        cookie = session_cookie(user)
        return websockets.connect(
            self.ws_url(room, query),
            origin=ORIGIN + f":{self.port}",
            additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
            open_timeout=10,
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(env: dict[str, str], log_dir: Path, port: int | None = None, args=()) -> Server:
    port = port or free_port()
    log = log_dir / f"charla-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            server_command(port=port, extra=tuple(args)),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, timeout=30, proc=proc)
    except Exception as exc:
        raise RuntimeError(f"Charla did not start: {exc}\n{log.read_text()}") from None
    return Server(port=port, proc=proc, log=log, env=env, args=tuple(args))


async def recv_frame(ws, frame_type: str, timeout: float = 10) -> dict:
    """The next frame of `frame_type`, passing over any others."""
    import asyncio

    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == frame_type:
                return frame


@contextlib.contextmanager
def servers(count: int, *, redis_url: str | None, static_root: str, log_dir: Path, server_args=(), **extra_env: str):
    started: list[Server] = []
    try:
        for _ in range(count):
            env = server_env(redis_url=redis_url, static_root=static_root, **extra_env)
            started.append(start_server(env, log_dir, args=server_args))
        yield started
    finally:
        for server in started:
            server.stop()
