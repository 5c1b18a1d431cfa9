"""Helpers for the tests of chat's services and selectors: a room's channel-layer traffic, a plain send."""

import json

from charla.chat import services
from charla.chat.models import Message, Room
from tests.support.layer import drain
from tests.support.layer import listen as listen_to


def listen(room) -> str:
    """A channel in the room's group, as an open socket's would be."""
    return listen_to(room.group_name)


def received(channel: str, timeout: float = 0.2) -> list[dict]:
    """Every channel-layer event the channel got so far (waiting `timeout` for stragglers)."""
    return drain(channel, timeout)


def frames(events: list[dict]) -> list[dict]:
    return [json.loads(event["text"]) for event in events]


def send(room, author, content, **kwargs) -> Message:
    message, created = services.message_send(room=room, author=author, content=content, **kwargs)
    assert created
    return message


def last_seq(room) -> int:
    return Room.objects.get(pk=room.pk).last_seq


def read_ids(frame: dict) -> list[int] | None:
    """The ids a `notificaciones_leidas` frame reports read (its exact keys are pinned in test_notifications.py)."""
    assert frame["type"] == "notificaciones_leidas", frame
    return frame["ids"]
