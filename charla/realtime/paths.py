"""Where the sockets are served: under CHARLA_WEBSOCKET_PREFIX ("ws/" by default)."""

from __future__ import annotations

import re

from charla.conf import charla_settings


def websocket_prefix() -> str:
    """The prefix as a path without its leading slash: "ws/", "chat/ws/", or "" for the root."""
    prefix = charla_settings.WEBSOCKET_PREFIX.strip("/")
    return f"{prefix}/" if prefix else ""


def route(path_regex: str) -> str:
    """A route's regular expression under the prefix (`path_regex` starts after it)."""
    return "^" + re.escape(websocket_prefix()) + path_regex


def url_path(path: str) -> str:
    """The path a page's script connects to, e.g. "/ws/notifications/" for "notifications/"."""
    return "/" + websocket_prefix() + path
