"""The processes a bench run starts: Charla (Daphne), the bare server, the seed tutorial's chat (Daphne),
a private Redis, and the bench database."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "charla_bench"  # a prefix: each run adds its pid
created_databases: set[str] = set()


def charla_command(port: int) -> list[str]:
    """The command that serves Charla on `port` (cwd: the repository root): production's own."""
    from config.server import command

    if os.environ.get("BENCH_DAPHNE"):  # for comparison: the tutorial's server
        return [".venv/bin/daphne", "-b", "127.0.0.1", "-p", str(port), "--ping-interval", "5",
                "--ping-timeout", "10", "config.asgi:application"]  # fmt: skip
    return command(port=port)


def charla_env(*, database_url: str, redis_url: str, secret_key: str, static_root: str) -> dict[str, str]:
    """Production-like settings for Charla processes (and for the fixtures made for them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHARLA_"))}
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secret_key,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_STATIC_ROOT=static_root,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CHARLA_SEND_RATE="off",
        PYTHONUNBUFFERED="1",
    )
    return env


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def bare_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.bare_server", "--port", str(port)]


def tutorial_command(port: int) -> list[str]:
    """The seed tutorial's server (cwd: the repository root): Daphne, as the tutorial runs it."""
    return [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "bench.tutorial_app.asgi:application"]


def tutorial_env(*, database: str, redis_url: str, secret_key: str) -> dict[str, str]:
    """Settings for the tutorial's processes (bench/tutorial_app/settings.py) and its fixtures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHARLA_", "TUTORIAL_"))}
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.tutorial_app.settings",
        TUTORIAL_DATABASE=database,
        TUTORIAL_REDIS_URL=redis_url,
        TUTORIAL_SECRET_KEY=secret_key,
        PYTHONUNBUFFERED="1",
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A started server process with its log; every one is stopped by stop_all()."""

    running: list[Proc] = []

    def __init__(self, name: str, cmd: list[str], log: Path, env: dict | None = None, port: int | None = None):
        self.name, self.cmd, self.log, self.port = name, cmd, log, port
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        Proc.running.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def tracebacks(self) -> tuple[int, str]:
        """How many tracebacks the log holds, and the first one (with the line before it)."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return 0, ""
        starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
        if not starts:
            return 0, ""
        first = starts[0]
        end = next((i for i in range(first + 1, len(lines)) if lines[i] and not lines[i][0].isspace()), first)
        return len(starts), "\n".join(lines[max(0, first - 1) : end + 1])

    def wait_listening(self, timeout: float = 60.0) -> None:
        """Wait for the port, then check that the process stays up; show its log tail if not."""
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; log tail:\n{self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.name} not listening after {timeout:.0f} s; log:\n{self.tail()}"
                    ) from None
                time.sleep(0.1)
        time.sleep(0.5)
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} died after starting; log tail:\n{self.tail()}")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        return cpu_of(self.pid)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        if self in Proc.running:
            Proc.running.remove(self)


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_backends(url: str) -> list[int]:
    """The pids of the PostgreSQL backends serving the database of `url` (part of the server's cost)."""
    if not url.startswith("postgres"):
        return []
    rows = _pg_admin_query("SELECT pid FROM pg_stat_activity WHERE datname = %s", url.rsplit("/", 1)[1])
    return [pid for (pid,) in rows]


def stop_all() -> None:
    for proc in list(reversed(Proc.running)):
        try:
            proc.stop()
        except (OSError, ProcessLookupError):
            pass


def start_redis(log_dir: Path) -> tuple[Proc, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = Proc("redis", cmd + ["--dir", str(log_dir)], log_dir / "redis.log", port=port)
    proc.wait_listening(timeout=10)
    return proc, f"redis://127.0.0.1:{port}/0"


def flush_redis(url: str) -> None:
    """Empty the bench's own Redis between scenarios (never the shared one)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


def start_charla(env: dict[str, str], log_dir: Path, tag: str) -> Proc:
    port = free_port()
    proc = Proc(f"charla:{port}", charla_command(port), log_dir / f"charla-{tag}-{port}.log", env=env, port=port)
    proc.wait_listening(timeout=60)
    return proc


def start_tutorial(env: dict[str, str], log_dir: Path, tag: str) -> Proc:
    port = free_port()
    proc = Proc(f"tutorial:{port}", tutorial_command(port), log_dir / f"tutorial-{tag}-{port}.log", env=env, port=port)
    proc.wait_listening(timeout=60)
    return proc


def start_bare(log_dir: Path, tag: str) -> Proc:
    port = free_port()
    proc = Proc(f"bare:{port}", bare_command(port), log_dir / f"bare-{tag}-{port}.log", port=port)
    proc.wait_listening(timeout=30)
    return proc


def migrate(env: dict[str, str], log_dir: Path) -> None:
    # `python -m django` with the env's settings: Charla's (config.settings) or the tutorial's.
    cmd = [sys.executable, "-m", "django", "migrate", "--noinput", "-v0"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(f"migrate failed:\n{done.stdout}\n{done.stderr}")


def postgres_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def create_postgres() -> str:
    """Create this run's database (its name carries the run's pid, so runs never share one); returns its URL.

    Databases left by runs that were killed (their pid is gone, nobody connected) are dropped first.
    """
    rows = _pg_admin_query(
        "SELECT datname, (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname)"
        " FROM pg_database d WHERE datname LIKE %s",
        PG_BENCH_DB + "_%",
    )
    for name, connections in rows:
        pid = name.removeprefix(PG_BENCH_DB + "_")
        if pid.isdigit() and not connections and not Path(f"/proc/{pid}").exists():
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
    name = f"{PG_BENCH_DB}_{os.getpid()}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    created_databases.add(name)
    return postgres_url(name)


def drop_created_databases() -> None:
    """Drop the databases this run created."""
    for name in list(created_databases):
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        created_databases.discard(name)


def _pg_admin_query(sql: str, *params) -> list[tuple]:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _pg_admin(*statements: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
