"""Charla's settings: each one is CHARLA_<NAME> in the project's settings, with a safe default.

A host project sets only what it wants to change (docs/embedding.md lists them); Charla's
own site (config/settings.py) reads them from the environment. Read at each use, so that
a test's override applies at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Limits of what a person sends.
    "MESSAGE_MAX_CHARS": 4000,
    "FRAME_MAX_BYTES": 64 * 1024,
    # Writes (sends, edits, deletions) per user: "30/10s", "100/m", or "off".
    "SEND_RATE": "30/10s",
    # Messages with @sala/@room per user, and how many people such a mention may reach unconfirmed.
    "MASS_MENTION_RATE": "3/10m",
    "MASS_MENTION_CONFIRM_OVER": 20,
    # Typing: one relayed change per user and room per this many seconds.
    "TYPING_INTERVAL": 2.0,
    # Frames queued for a socket whose reader is too slow before it is disconnected (it resumes).
    "SEND_BUFFER_BYTES": 1024 * 1024,
    # Open sockets (chat and notifications together) per user in each process; 0: no limit.
    "MAX_SOCKETS_PER_USER": 100,
    # Seconds a connection may take to send its request head (charla.realtime.internals); 0: no limit.
    "HEADER_TIMEOUT": 10.0,
    # How often each process checks that its sockets missed nothing (seconds).
    "WATCH_INTERVAL": 5.0,
    # A crashed process's users drop out of presence after this many seconds.
    "PRESENCE_TTL": 30.0,
    # Messages a room opens with, a resume may replay, and a scroll-back page may hold.
    "HISTORY_SIZE": 50,
    "RESUME_MAX": 500,
    "PAGE_MAX": 100,
    # Presence and rate limits shared by all processes; "" keeps them in each process.
    "REDIS_URL": "",
    # Between processes without Redis (commands, tasks, workers): "auto" relays through the
    # database when the channel layer is the in-process one (charla.realtime.relay).
    "DATABASE_RELAY": "auto",
    # Public rooms a new account joins (those of these names that exist), as Slack's #general.
    "DEFAULT_ROOMS": ["general"],
    # Where the sockets live: ws/chat/<room>/ and ws/notifications/ under this path.
    "WEBSOCKET_PREFIX": "ws/",
    # Whether new usernames must be safe to @mention (letters, digits, . _ -; no lookalike of
    # a taken name). A host whose usernames are e-mail addresses turns it off.
    "USERNAME_RULES": True,
}


class CharlaSettings:
    """`charla_settings.HISTORY_SIZE` is settings.CHARLA_HISTORY_SIZE, or its default."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Charla has no setting {name!r} (settings.CHARLA_{name})")
        return getattr(settings, f"CHARLA_{name}", DEFAULTS[name])


charla_settings = CharlaSettings()
