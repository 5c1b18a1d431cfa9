"""Playwright driving Debian's Chromium, for the browser tests."""

from __future__ import annotations

import os
import re
from pathlib import Path

CHROMIUM = os.environ.get("CHARLA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-features=LocalNetworkAccessChecks",
]
SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "django-channels-guide.md"


def login(page, base_url: str, username: str, password: str) -> None:
    """Log in through the real login page."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form [type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/(?!accounts/login).*"))


def tutorial_sources() -> tuple[str, str]:
    """The seed tutorial's websocket.js and the chat elements of its sala.html, exactly as published."""
    text = SEED.read_text(encoding="utf-8")
    script = re.search(r"```javascript\n(// chat/static/chat/js/websocket\.js\n.*?)```", text, re.S).group(1)
    template = re.search(r"\{% block contenido %\}\n(.*?)\{% endblock %\}", text, re.S).group(1)
    return script, template


def tutorial_page(room: str, username: str) -> str:
    """The tutorial's sala.html, rendered the way Django would render it, with its websocket.js inline."""
    script, template = tutorial_sources()
    body = template.replace("{{ sala.nombre }}", room).replace("{{ request.user.username }}", username)
    body = re.sub(r"\{#.*?#\}", "", body)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}<script>{script}</script></body></html>"
    )
