"""A socket's room stream, driven directly: each event written once, in room order, gaps read from the database."""

import asyncio

import pytest

from charla.chat.broadcast import room_event_message
from charla.chat.errors import ActionError
from charla.chat.stream import RoomStream

pytestmark = pytest.mark.asyncio

ME, OTHER = 1, 2


def numbered(seq: int) -> dict:
    """A room event as the hub hands it: serialized once, and framed once for all sockets."""
    return {**room_event_message({"type": "mensaje", "n": seq}, seq=seq), "frame": f"<frame {seq}>".encode()}


def typing(skip_user: int | None) -> dict:
    return room_event_message({"type": "escribiendo", "username": "ana"}, skip_user_id=skip_user)


class Database:
    """The stream's reader: records each read, answers from `pages`, and waits while `gate` is closed."""

    def __init__(self, *pages):
        self.pages = list(pages)  # each a (seqs, cursor, caught up), or an exception to raise
        self.reads: list[tuple[int, int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def read_after(self, seq: int, gap_start: int):
        self.reads.append((seq, gap_start))
        await self.gate.wait()
        page = self.pages.pop(0)
        if isinstance(page, Exception):
            raise page
        seqs, cursor, caught_up = page
        return [f"db {s}" for s in seqs], cursor, caught_up


class Socket:
    """A stream with a fake writer and closer around it."""

    def __init__(self, database: Database | None = None):
        self.database = database or Database()
        self.written: list[tuple[str, bytes | None]] = []
        self.closed: list[int] = []
        self.stream = RoomStream(
            write=lambda text, frame: self.written.append((text, frame)),
            read_after=self.database.read_after,
            close=self.closed.append,
            user_id=ME,
        )

    def texts(self) -> list[str]:
        return [text for text, _ in self.written]

    def seqs(self) -> list:
        """What was written, as room event numbers (from the live stream) or `db n` (read from the database)."""
        live = {numbered(s)["text"]: s for s in range(100)}
        return [live.get(text, text) for text in self.texts()]


async def idle():
    """Let the stream's read (a task) run to its end."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_events_in_order_are_written_at_once_with_their_frame():
    socket = Socket()
    socket.stream.start(0)
    for seq in (1, 2, 3):
        socket.stream.event(numbered(seq))
    assert socket.written == [(numbered(s)["text"], numbered(s)["frame"]) for s in (1, 2, 3)]
    assert socket.stream.cursor == 3
    assert socket.database.reads == []


async def test_duplicates_and_events_already_sent_are_dropped():
    socket = Socket()
    socket.stream.start(5)  # the history held events up to 5
    for seq in (3, 5, 6, 6, 4, 7):
        socket.stream.event(numbered(seq))
    assert socket.seqs() == [6, 7]
    assert socket.database.reads == []


async def test_a_gap_is_read_once_then_the_held_events_follow_in_order():
    database = Database(([2, 3], 3, True))
    database.gate.clear()
    socket = Socket(database)
    socket.stream.start(0)
    socket.stream.event(numbered(1))
    socket.stream.event(numbered(3))  # 2 is missing
    await idle()
    # While the gap is read: later events, the late 2, and the watchdog, all wait for it.
    socket.stream.event(numbered(4))
    socket.stream.event(numbered(2))
    socket.stream.event(numbered(5))
    socket.stream.resync()
    await idle()
    assert socket.seqs() == [1]
    database.gate.set()
    await idle()
    assert database.reads == [(1, 1)], "one read, from the cursor before the gap"
    assert socket.seqs() == [1, "db 2", "db 3", 4, 5]
    assert socket.stream.cursor == 5


async def test_a_long_gap_is_read_page_by_page_from_where_it_started():
    socket = Socket(Database(([2, 3], 3, False), ([4], 4, True)))
    socket.stream.start(1)
    socket.stream.event(numbered(5))
    await idle()
    assert socket.database.reads == [(1, 1), (3, 1)], "later pages still know what was new to the socket"
    assert socket.seqs() == ["db 2", "db 3", "db 4", 5]


async def test_events_that_arrive_during_the_history_are_held_and_released_after_it():
    socket = Socket()
    for seq in (2, 3, 4):
        socket.stream.event(numbered(seq))
    assert socket.written == [], "the client is not listening before its history"
    socket.stream.start(3)  # the history covered up to 3
    assert socket.seqs() == [4]
    assert socket.database.reads == []


async def test_a_gap_between_the_history_and_the_held_events_is_read():
    socket = Socket(Database(([3], 3, True)))
    socket.stream.event(numbered(4))
    socket.stream.start(2)
    await idle()
    assert socket.database.reads == [(2, 2)]
    assert socket.seqs() == ["db 3", 4]


async def test_a_failed_read_leaves_the_stream_ready_for_the_watchdog():
    socket = Socket(Database(ConnectionError("the database is away"), ([2, 3], 3, True)))
    socket.stream.start(1)
    socket.stream.event(numbered(3))
    await idle()
    assert socket.written == [] and socket.closed == []
    socket.stream.resync()  # the watchdog's next tick
    await idle()
    assert socket.database.reads == [(1, 1), (1, 1)]
    assert socket.seqs() == ["db 2", "db 3"]
    socket.stream.event(numbered(4))
    assert socket.seqs() == ["db 2", "db 3", 4], "live events flow again"


async def test_resync_reads_once_even_when_asked_twice_and_not_before_the_history():
    socket = Socket(Database(([1], 1, True)))
    socket.stream.resync()
    await idle()
    assert socket.database.reads == [], "nothing to read before the history is written"
    socket.stream.start(0)
    socket.stream.resync()
    socket.stream.resync()
    await idle()
    assert socket.database.reads == [(0, 0)]
    assert socket.seqs() == ["db 1"] and socket.stream.cursor == 1


async def test_a_read_refused_for_access_closes_the_socket_as_forbidden():
    from django.utils.translation import gettext as _

    socket = Socket(Database(ActionError(_("You are not a member of this room."), "forbidden")))
    socket.stream.start(0)
    socket.stream.event(numbered(2))
    await idle()
    assert socket.closed == [4403]
    socket.stream.event(numbered(3))
    assert socket.written == [], "a removed member is sent nothing more"


async def test_the_users_own_typing_is_not_written_back_to_them():
    socket = Socket()
    socket.stream.start(0)
    socket.stream.event(typing(skip_user=ME))
    socket.stream.event(typing(skip_user=OTHER))
    socket.stream.event(typing(skip_user=None))
    assert socket.texts() == [typing(None)["text"]] * 2


async def test_unnumbered_frames_before_the_history_are_dropped_and_pass_while_a_gap_is_read():
    database = Database(([1], 1, True))
    database.gate.clear()
    socket = Socket(database)
    socket.stream.event(typing(skip_user=OTHER))
    socket.stream.start(0)
    assert socket.written == [], "dropped, not held: typing is best-effort"
    socket.stream.event(numbered(2))
    socket.stream.event(typing(skip_user=OTHER))
    assert socket.texts() == [typing(OTHER)["text"]], "best-effort frames do not wait for a gap"
    database.gate.set()
    await idle()
    assert socket.seqs() == [typing(OTHER)["text"], "db 1", 2]
