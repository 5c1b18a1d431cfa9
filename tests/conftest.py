"""Shared fixtures: users, logged-in sockets over the real ASGI stack, a private Redis, service gating."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess

import pytest
import pytest_asyncio
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from tests.support.net import free_port, wait_for_port

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ORIGIN = "http://127.0.0.1"


def need(what: str, reason: str) -> None:
    """A missing service or browser: a failure in CI, a skip that says why elsewhere."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI: {reason}", pytrace=False)
    pytest.skip(f"needs {what}: {reason}")


def is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _postgres_unreachable() -> str | None:
    db = settings.DATABASES["default"]
    try:
        with socket.create_connection((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)), timeout=3):
            return None
    except OSError as exc:
        return f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} is unreachable ({exc})"


def pytest_collection_modifyitems(config, items):
    """Browser, multi-process and concurrent-writer tests run once, in the PostgreSQL pass."""
    if is_postgres():
        return
    once = [i for i in items if any(i.get_closest_marker(m) for m in ("browser", "processes", "postgres"))]
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = [i for i in items if i not in once]


@pytest.fixture(scope="session", autouse=True)
def _database_reachable():
    """The PostgreSQL pass needs its server: every test fails in CI, or skips saying why, without it."""
    problem = is_postgres() and _postgres_unreachable()
    if problem:
        need("PostgreSQL", problem)


@pytest.fixture(scope="session", autouse=True)
def _drop_stray_postgres_sessions(_database_reachable, django_db_setup, django_db_blocker):
    """Let the test database be dropped at the end: connections left in worker threads
    (database_sync_to_async) or by server processes would otherwise keep it in use."""
    yield
    if not is_postgres():
        return
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    """Creating users with the default hasher costs ~0.5 s each. Browser tests keep it:
    their users log in to server processes, which only know the production hashers."""
    if not request.node.get_closest_marker("browser"):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_database_relay(settings):
    """This process publishes to its in-memory layer only, as the tests listen there; the relay's
    own tests turn it on (charla.realtime.relay). Server processes the tests start keep "auto"."""
    settings.CHARLA_DATABASE_RELAY = False


@pytest.fixture(autouse=True)
def _fresh_channel_layer(monkeypatch):
    """Each test gets its own in-memory channel layer and presence (nothing left over from another test)."""
    from charla.realtime import presence

    monkeypatch.setattr(presence, "local_presence", presence.LocalPresence())
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)

    return make


@pytest.fixture
def ana(make_user):
    return make_user("ana")


@pytest.fixture
def luis(make_user):
    return make_user("luis")


@pytest.fixture
def lobby(ana):
    """A public room of ana's."""
    from charla.chat import services

    return services.room_create(creator=ana, name="lobby")


@pytest.fixture
def secret(ana):
    """A private room of ana's."""
    from charla.chat import services

    return services.room_create(creator=ana, name="secret", is_private=True)


@pytest.fixture
def login():
    """A test client logged in as a user: `login(user, enforce_csrf_checks=True)`."""

    def as_user(user, **kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return as_user


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest_asyncio.fixture
async def ws_connect():
    """Open a chat socket as `user` (None: anonymous) through config.asgi's full middleware stack.

    Returns (communicator, connected, close_code); sockets are disconnected at teardown.
    """
    from config.asgi import application

    opened = []

    async def connect(user, room_name: str, *, query: str = "", origin: str | None = ORIGIN, headers=(), cookies=None):
        from asgiref.sync import sync_to_async

        all_headers = [(b"host", b"127.0.0.1")] + list(headers)
        if origin is not None:
            all_headers.append((b"origin", origin.encode()))
        cookies = dict(cookies or {})
        if user is not None:
            cookies[settings.SESSION_COOKIE_NAME] = await sync_to_async(session_cookie)(user)
        if cookies:
            all_headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
        path = f"/ws/chat/{room_name}/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=all_headers)
        connected, code = await communicator.connect(timeout=5)
        opened.append(communicator)
        return communicator, connected, code

    yield connect
    for communicator in opened:
        await communicator.disconnect()


@pytest.fixture(scope="session")
def redis_url():
    """A private redis-server on a free port for this test session."""
    binary = shutil.which("redis-server")
    if binary is None:
        need("redis-server", "the binary is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=10, proc=proc)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """Static files collected as production collects them (compressed, hashed)."""
    from tests.support.servers import collect_static

    target = tmp_path_factory.mktemp("static")
    collect_static(str(target))
    return str(target)


@pytest.fixture
def charla_servers(transactional_db, static_root, tmp_path):
    """Start N real Charla processes on the test database: `charla_servers(2, redis_url=...)`."""
    from tests.support.servers import servers

    if not is_postgres():
        pytest.fail("server-process tests run in the PostgreSQL pass only")
    stack = []

    def start(count: int = 1, *, redis_url: str | None = None, server_args=(), **extra_env: str):
        context = servers(
            count, redis_url=redis_url, static_root=static_root, log_dir=tmp_path, server_args=server_args, **extra_env
        )
        stack.append(context)
        return context.__enter__()

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        need("Chromium", f"{CHROMIUM} not found (make test installs Debian's chromium when it can)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright", "the playwright package is not installed (make install)")
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls
    # the test makes meanwhile are plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield chromium
    chromium.close()
    playwright.stop()


class RestartableRedis:
    """A private redis-server that can be stopped and started again on the same port."""

    def __init__(self, binary: str):
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, timeout=10, proc=self.proc)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)


@pytest.fixture
def restartable_redis():
    binary = shutil.which("redis-server")
    if binary is None:
        need("redis-server", "the binary is not installed (apt-get install redis-server)")
    redis = RestartableRedis(binary)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def cookies(make_user):
    """Three members of the room `general` and their session cookies (made here: the ORM is synchronous)."""
    from charla.chat import services

    users = [make_user(name) for name in ("ana", "luis", "eva")]
    services.room_create(creator=users[0], name="general")
    for user in users[1:]:
        services.room_open(user=user, name="general")
    return {user.username: session_cookie(user) for user in users}
