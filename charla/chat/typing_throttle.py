"""Typing relays per user and room in this process: at most one per CHARLA_TYPING_INTERVAL, the latest state never lost.

A client may alternate `escribiendo` and `dejar_escribir` as fast as it likes, from as
many sockets as it has in the room: the room hears at most one change per window, and
the state the user's sockets last sent is relayed when the window ends, so receivers
never keep showing a stale "is typing". A user shown typing whose sockets fall silent
(a tab closed mid-word) is relayed as stopped after TYPING_LAPSE seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from charla.chat import broadcast, protocol
from charla.conf import charla_settings
from charla.realtime.loops import PerLoop

# Charla's client repeats `escribiendo` every 3 s while typing, and the tutorial's on every
# keystroke; both send `dejar_escribir` after 3 s idle: 10 s of silence means the typist left.
TYPING_LAPSE = 10.0


@dataclass
class Typist:
    """What the room was last told about one user, and what their sockets said last."""

    group: str
    username: str
    user_id: int
    shown: bool = False
    wanted: bool = False
    relayed_at: float = float("-inf")
    heard_at: float = 0.0
    timer: asyncio.TimerHandle | None = None


class TypingThrottle:
    """The typists of one event loop, by (room id, user id)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._typists: dict[tuple[int, int], Typist] = {}
        self._tasks: set[asyncio.Task] = set()

    def update(self, *, room_id: int, group: str, user_id: int, username: str, typing: bool) -> None:
        """One of the user's sockets in the room says they are typing (or stopped)."""
        key = (room_id, user_id)
        now = time.monotonic()
        typist = self._typists.get(key)
        if typist is None:
            if not typing:
                return  # the room was never told otherwise
            typist = self._typists[key] = Typist(group=group, username=username, user_id=user_id)
        typist.wanted, typist.heard_at = typing, now
        if now - typist.relayed_at < charla_settings.TYPING_INTERVAL:
            return  # the window's timer relays the latest state when it ends
        if not typing and not typist.shown:
            return
        self._relay(key, typist, now)  # a change, or a refresh of "typing" that keeps receivers showing it

    def _relay(self, key: tuple[int, int], typist: Typist, now: float) -> None:
        if typist.timer is not None:
            typist.timer.cancel()
        typist.shown, typist.relayed_at = typist.wanted, now
        frame = protocol.typing(typist.username) if typist.shown else protocol.stop_typing(typist.username)
        task = self._loop.create_task(broadcast.send_room_frame(typist.group, frame, skip_user_id=typist.user_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        typist.timer = self._loop.call_later(charla_settings.TYPING_INTERVAL, self._wake, key)

    def _wake(self, key: tuple[int, int]) -> None:
        """A window ended (or a shown typist's lapse is due): relay what changed, or forget the typist."""
        typist = self._typists[key]
        typist.timer = None
        now = time.monotonic()
        if typist.wanted != typist.shown:
            self._relay(key, typist, now)
        elif not typist.shown:
            del self._typists[key]
        elif now - typist.heard_at >= TYPING_LAPSE:
            typist.wanted = False
            self._relay(key, typist, now)
        else:
            typist.timer = self._loop.call_later(typist.heard_at + TYPING_LAPSE - now, self._wake, key)

    def __len__(self) -> int:
        return len(self._typists)


_throttles: PerLoop[TypingThrottle] = PerLoop(TypingThrottle)


def get_typing_throttle() -> TypingThrottle:
    """The running loop's throttle."""
    return _throttles.get()
