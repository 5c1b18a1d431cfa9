"""Charla as a Django developer adds it to their own project: the wheel built from this
repository, installed into a throwaway host project (tests/host_project) that has its own
custom user model and its own `chat` app, migrated, and two people chatting through a real
server in Chromium, on the host's pages, under the host's URL prefix (docs/embedding.md)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port, wait_for_port

pytestmark = [pytest.mark.processes, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
HOST = Path(__file__).resolve().parent / "host_project"


def run(args, *, cwd, env, timeout=300):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def host_project(tmp_path_factory):
    """The host project, with the freshly built wheel installed beside it (and no repository on its path)."""
    tmp = tmp_path_factory.mktemp("embedding")
    source = tmp / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "charla", source / "charla", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", source)
    (source / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "embedding.md", source / "docs")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHARLA_", "PYTHON"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist", source],
        cwd=tmp,
        env=env,
    )
    (wheel,) = (tmp / "dist").glob("django_charla-*.whl")
    site = tmp / "site"
    run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, wheel], cwd=tmp, env=env)
    project = tmp / "host"
    shutil.copytree(HOST, project, ignore=ignore)
    env["PYTHONPATH"] = str(site)
    env["PYTHONUNBUFFERED"] = "1"
    return project, site, env


def manage(host_project, *args):
    project, _site, env = host_project
    return run([sys.executable, "manage.py", *args], cwd=project, env=env)


def test_the_wheel_installs_into_a_project_with_its_own_user_model_and_chat_app_and_two_people_chat(
    host_project, browser
):
    project, site, env = host_project
    # The host's own code is Charla's from the wheel, not from this repository.
    where = manage(host_project, "shell", "-c", "import charla; print(charla.__file__)")
    assert where.strip().splitlines()[-1].startswith(str(site)), where

    manage(host_project, "makemigrations", "accounts", "chat", "-v0")
    manage(host_project, "makemigrations", "--check", "--dry-run", "charla", "charla_notifications")
    manage(host_project, "migrate", "-v0")
    manage(host_project, "check", "--database", "default")
    tables = {row[0] for row in sqlite3.connect(project / "host.sqlite3").execute("SELECT name FROM sqlite_master")}
    assert {"chat_room", "charla_room", "charla_message", "charla_notifications_notification"} <= tables
    manage(
        host_project,
        "shell",
        "-c",
        "from accounts.models import User\n"
        "User.objects.create_user('ana', password='pw-ana-host-1', team='ops')\n"
        "User.objects.create_user('luis', password='pw-luis-host-1', team='ops')",
    )

    port = free_port()
    log = open(project / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "hostsite.asgi:application", "--port", str(port), "--ws", "wsproto"],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30, proc=server)
        base = f"http://127.0.0.1:{port}"
        pages, errors = {}, []
        for name in ("ana", "luis"):
            page = browser.new_context(locale="en-US", viewport={"width": 1180, "height": 720}).new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/team/chat/")
            assert page.url.startswith(f"{base}/login/"), "Charla's pages send strangers to the host's login"
            page.fill("input[name=username]", name)
            page.fill("input[name=password]", f"pw-{name}-host-1")
            page.locator("form [type=submit]").click()
            page.wait_for_url(f"{base}/team/chat/")
            pages[name] = page

        ana, luis = pages["ana"], pages["luis"]
        ana.locator("#crear-sala").click()
        ana.fill("input[name=name]", "ops-room")
        ana.locator("form [type=submit]").click()
        ana.wait_for_url(f"{base}/team/chat/rooms/ops-room/")
        assert "Host intranet · ana" in ana.locator("#host-nav").inner_text(), "the room sits in the host's base"
        assert ana.locator("#chat-app").get_attribute("data-socket-base") == "/team/ws/"
        ana.wait_for_selector("#estado-conexion.estado-success")

        luis.goto(f"{base}/team/chat/rooms/ops-room/")
        luis.wait_for_selector("#estado-conexion.estado-success")
        ana.locator("#usuarios-en-linea li[data-username=luis]").wait_for()
        ana.fill("#input-mensaje", "Hola Luis, desde la intranet")
        ana.press("#input-mensaje", "Enter")
        luis.locator("article.message", has_text="desde la intranet").wait_for()
        luis.fill("#input-mensaje", "@ana recibido")
        luis.press("#input-mensaje", "Enter")
        ana.locator("article.message", has_text="recibido").wait_for()
        # The mention reaches Ana's bell through the notifications socket, also under the prefix.
        ana.locator("#notificaciones-contador:not([hidden])").wait_for()
        assert errors == []
        ana.screenshot(path=ROOT / "docs" / "embedding.png")  # docs/embedding.md shows it
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    stored = sqlite3.connect(project / "host.sqlite3").execute(
        "SELECT u.username, m.content FROM charla_message m JOIN accounts_user u ON u.id = m.author_id ORDER BY m.seq"
    )
    assert list(stored) == [("ana", "Hola Luis, desde la intranet"), ("luis", "@ana recibido")]
