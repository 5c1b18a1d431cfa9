"""One socket's view of a room's events: in room order, once, with what the live stream lost read from the database.

The hub hands every room event to each socket as it arrives, and the channel layer under
it may reorder or drop them (docs/delivery.md). A RoomStream keeps the socket's cursor,
the highest room event it has written: an event at or below it was already written and
is dropped; an event more than one past it reveals a gap, which is read from the
database (paged) before anything after it is written. It knows nothing of sockets: it
writes, reads and closes through the callables it is given.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from charla.chat.errors import ActionError
from charla.realtime.sockets import CLOSE_FORBIDDEN

logger = logging.getLogger(__name__)

# (texts of the frames missed after `seq`, the new cursor, whether it caught up with the room)
Page = tuple[list[str], int, bool]


class RoomStream:
    """The room events one socket writes, each once and in room order."""

    def __init__(
        self,
        *,
        write: Callable[[str, bytes | None], None],
        read_after: Callable[[int, int], Awaitable[Page]],
        close: Callable[[int], None],
        user_id: int | None,
        room_id: int | None = None,
    ):
        self._write = write
        self._read_after = read_after  # (seq, gap_start): one page of what was missed after seq
        self._close = close
        self._user_id = user_id  # frames that skip this user (their own typing) are not written
        self._room_id = room_id  # for the log
        self.cursor = 0
        self.started = False  # the history is written: the client is listening
        # Numbered events that arrived while the history or a gap was being read: handled after it.
        self._held: list[dict] | None = []
        self._filling: asyncio.Task | None = None  # held: a task nobody references may be collected

    def event(self, message: dict) -> None:
        """Take one room event from the hub (never waits): write it, drop it, or hold it until a gap is filled."""
        seq = message["seq"]
        if seq is None and not self.started:
            return  # typing or presence before the history: the client is not listening yet
        if seq is not None:
            if self._held is not None:
                self._held.append(message)
                return
            if seq <= self.cursor:
                return  # already written (history, or filled in from a gap)
            if seq > self.cursor + 1:
                self._held = [message]
                self._fill()
                return
            self.cursor = seq
        if message["skip_user"] is not None and message["skip_user"] == self._user_id:
            return
        self._write(message["text"], message.get("frame"))

    def start(self, history_seq: int) -> None:
        """The history, up to room event `history_seq`, is written: write what was held meanwhile."""
        self.cursor, self.started = history_seq, True
        self._release()

    def resync(self) -> None:
        """Read what this socket missed (the watchdog saw it fall behind, or a retried send is ahead of it)."""
        if self._held is None:  # not before the history, nor while a gap is being read
            self._held = []
            self._fill()

    def _fill(self) -> None:
        self._filling = asyncio.get_running_loop().create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        """Write, in order, what was missed after the cursor, then what was held meanwhile."""
        try:
            gap_start, caught_up = self.cursor, False
            while not caught_up:
                texts, self.cursor, caught_up = await self._read_after(self.cursor, gap_start)
                for text in texts:
                    self._write(text, None)
        except ActionError:  # no longer a member, and the removal's event never came
            self._close(CLOSE_FORBIDDEN)
            return
        except Exception:  # the database is away: the watchdog asks again
            logger.warning("filling a gap in room %s failed", self._room_id, exc_info=True)
            self._held = None
            return
        self._release()

    def _release(self) -> None:
        held, self._held = self._held, None
        for message in held or ():
            self.event(message)
