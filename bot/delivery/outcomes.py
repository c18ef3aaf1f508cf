"""The in-flight window: a message Telegram accepted is marked sent before this process writes anything else.

The Bot API has no idempotent send, so a message accepted but not yet marked sent when the process dies
goes out again after the restart. Each sender has one message on the wire at a time, so the bound is one
message per sender, provided the "sent" write follows the answer at once. On SQLite every transaction
takes the database's one write lock, and a waiting writer polls for it with growing sleeps (up to 100 ms
each): under load the "sent" write lagged the answer by up to 1.5 s behind the handling of updates. So,
on SQLite, while a sender records an outcome no new transaction of this process starts, and the record
waits (woken by an event, not by polling) only for the ones already running.

PostgreSQL locks rows, not the database: there the outcome never waits for other writes and this is off.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# A transaction still running after this long (a stalled database) is no longer waited for.
_MAX_WAIT = 2.0


class OutcomesFirst:
    """Senders hold `recording()` around the write of an outcome; other writers hold `writing()`."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._recording = 0
        self._settled = asyncio.Event()  # no outcome being recorded: writers may start
        self._settled.set()
        self._writers = 0
        self._idle = asyncio.Event()  # no transaction of this process running
        self._idle.set()

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Around one of this process's transactions: starts once no outcome is being recorded."""
        if not self.enabled:
            yield
            return
        await self.settled()
        self._writers += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._writers -= 1
            if self._writers == 0:
                self._idle.set()

    @asynccontextmanager
    async def recording(self) -> AsyncIterator[None]:
        """Around the write of an outcome: new writers wait; the ones running are let finish first."""
        if not self.enabled:
            yield
            return
        self._recording += 1
        self._settled.clear()
        try:
            if self._writers:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), _MAX_WAIT)
            yield
        finally:
            self._recording -= 1
            if self._recording == 0:
                self._settled.set()

    async def settled(self) -> None:
        """Return once no sender is recording an outcome (at once, nearly always)."""
        if self.enabled and not self._settled.is_set():
            await self._settled.wait()
