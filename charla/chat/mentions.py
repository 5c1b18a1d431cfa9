"""@mentions in message text: who a message names, and the names that mean the whole room."""

from __future__ import annotations

import re

# @sala and @room notify every member of the room; nobody may take them as a username.
ROOM_WIDE_MENTIONS = frozenset({"sala", "room"})
# A name may contain dots but not end with one ("@ana." at the end of a sentence is @ana).
MENTION = re.compile(r"(?<![\w@.])@([\w.+-]+[\w+-]|[\w])", re.UNICODE)
MAX_MENTIONS = 50


def mentioned_names(text: str) -> list[str]:
    """The distinct @names in a message, in order (at most MAX_MENTIONS)."""
    seen = []
    for name in MENTION.findall(text):
        if name.lower() not in (n.lower() for n in seen):
            seen.append(name)
    return seen[:MAX_MENTIONS]


def is_room_wide(content: str) -> bool:
    """Whether a message mentions the whole room (and so notifies every member)."""
    return any(name.lower() in ROOM_WIDE_MENTIONS for name in mentioned_names(content))
