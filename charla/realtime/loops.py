"""One object per event loop: Redis clients, tasks and futures belong to the loop that made them."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """Makes one `factory(loop)` per event loop, on first use, and forgets it with its loop."""

    def __init__(self, factory: Callable[[asyncio.AbstractEventLoop], T]):
        self._factory = factory
        self._made: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self) -> T:
        """The running loop's (made now if it has none)."""
        loop = asyncio.get_running_loop()
        made = self._made.get(loop)
        if made is None:
            made = self._made[loop] = self._factory(loop)
        return made

    def of(self, loop: asyncio.AbstractEventLoop) -> T | None:
        """`loop`'s, if it has made one (callable from another thread)."""
        return self._made.get(loop)
