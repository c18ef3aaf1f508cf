"""SQLite called on the event loop's own thread, for the bot process.

aiosqlite runs every call (open a cursor, execute, fetch, commit) on a worker thread and hands the result
back through the event loop: ~50 µs per call on this machine, against ~2 µs for the call itself, and
SQLAlchemy makes several calls per statement. A report (about ten statements, two commits) paid ~90 such
hand-overs, half of the handler's time (py-spy on the bot under load, issue 16).

SQLite answers from its page cache in microseconds, so the bot calls it directly instead: `InlineConnection`
is an aiosqlite connection whose calls run where they are made. What must never block the loop is a wait
for the write lock (every transaction starts with BEGIN IMMEDIATE, storage/database.py), so:
- within the process, transactions queue on one asyncio lock per engine, handed over in order the moment
  the holder commits or rolls back, instead of polling the file in SQLite's busy handler;
- another process holding the lock (the desk, a CLI command) is waited for with `asyncio.sleep` between
  tries, up to the same 30 s the threaded driver waited (busy_timeout is 0 for that one statement).
Long queries still run inline; the web desk, whose reports can scan a whole table, keeps aiosqlite.

WAL checkpoints run on a thread. SQLite copies the WAL back into the database file in the commit that passes
1,000 pages, fsync included: with the bot's connections on the loop, that held the loop 6-14 ms in 42 of
3,703 commits of bench_bot's in-process part on SQLite (the handler's p99 tail). The engine's connections leave that to `Checkpoints` instead: every CHECKPOINT_COMMITS commits, the
next transaction, holding the engine's write lock, first has a checkpoint run on the loop's default executor
(a connection of its own). No writer of the process runs meanwhile, so it catches up with the WAL as SQLite's
own would (the next write starts the WAL again from its beginning), and the loop serves everything else. It
runs before a transaction, not after a commit, so that a cancelled wait can never make a commit that happened
look failed. SQLite's own automatic checkpoint stays as a backstop, at BACKSTOP_PAGES.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any
from urllib.parse import quote

import aiosqlite

LOCK_TIMEOUT = 30.0  # seconds, as the threaded driver's busy_timeout
BUSY_TIMEOUT_MS = 30_000  # the connections' busy_timeout (storage/database.py), outside begin_immediate
_RETRY_DELAYS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)  # then 0.05 s between tries
CHECKPOINT_COMMITS = 100  # commits between checkpoints (a report's commit writes ~5-15 pages)
BACKSTOP_PAGES = 10_000  # the connections' own automatic checkpoint, should the engine's not come

log = logging.getLogger(__name__)


class Checkpoints:
    """An engine's WAL checkpoints, on the loop's default executor, counted in commits."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        self._connector = connector
        self.commits = 0

    async def run_if_due(self) -> None:
        """Called holding the engine's write lock, before a transaction begins."""
        if self.commits < CHECKPOINT_COMMITS:
            return
        self.commits = 0
        await asyncio.get_running_loop().run_in_executor(None, self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            # A connection of its own each time (~0.1 ms every hundred commits): none outlives the engine.
            connection = self._connector()
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()
        except sqlite3.Error as exc:  # tried again a hundred commits later; the backstop bounds the WAL
            log.warning("WAL checkpoint failed: %s", exc)


class _Inline:
    """aiosqlite's queue to its worker thread, answered at once (SQLAlchemy's isolation-level setter
    puts a function and a future on it)."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the waiter, as the worker thread would
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection without its thread: each call runs on the caller's thread."""

    def __init__(
        self, connector: Callable[[], sqlite3.Connection], lock: asyncio.Lock, checkpoints: Checkpoints
    ) -> None:
        """`lock`: the engine's turn at the database file, shared by its connections (first come, first
        served); `checkpoints`: the engine's WAL checkpoints, off the loop."""
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _Inline()  # type: ignore[assignment]
        self._write_lock = lock
        self._holds_lock = False
        self._checkpoints = checkpoints

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection itself (storage/direct.py runs statements on it)."""
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return self._connection is not None and self._conn.in_transaction

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._open().__await__()

    async def _open(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
            self._connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def begin_immediate(self) -> None:
        """BEGIN IMMEDIATE, waiting for the write lock without blocking the loop (LOCK_TIMEOUT at most,
        then "database is locked", as the threaded driver's busy_timeout would say). Already begun here
        (a session that began it and then joined SQLAlchemy's work to it: storage/direct): nothing to do."""
        if self._holds_lock and self.in_transaction:
            return
        try:
            async with asyncio.timeout(LOCK_TIMEOUT):
                await self._write_lock.acquire()
                self._holds_lock = True
                await self._checkpoints.run_if_due()
                # Only this wait is taken off SQLite's busy handler (it would sleep on the loop's thread);
                # other statements keep the connection's busy_timeout for the rare short waits they meet
                # (a journal-mode pragma at connect, recovering the WAL after a crash).
                self._conn.execute("PRAGMA busy_timeout=0")
                try:
                    for attempt in itertools.count():
                        try:
                            self._conn.execute("BEGIN IMMEDIATE")
                            return
                        except sqlite3.OperationalError as exc:
                            if "locked" not in str(exc) and "busy" not in str(exc):
                                raise
                        await asyncio.sleep(_RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)])
                finally:
                    self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except BaseException as exc:
            self._release()
            if isinstance(exc, TimeoutError):
                raise sqlite3.OperationalError("database is locked") from None
            raise

    def _release(self) -> None:
        if self._holds_lock:
            self._holds_lock = False
            self._write_lock.release()

    async def commit(self) -> None:
        try:
            await super().commit()
            self._checkpoints.commits += 1
        finally:
            self._release()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self._release()

    async def close(self) -> None:
        try:
            if self._connection is not None:
                self._connection.close()
        finally:
            self._connection = None
            self._running = False
            self._release()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate; aiosqlite would stop its thread)."""
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._release()


def _existing_only(cargs: list[Any], cparams: dict[str, Any]) -> Callable[[], sqlite3.Connection]:
    """sqlite3.connect for the checkpoints, to an existing file only (never creates an empty one)."""
    if cparams.get("uri"):
        return partial(sqlite3.connect, *cargs, **cparams)
    rw = f"file:{quote(str(cargs[0]))}?mode=rw"
    return partial(sqlite3.connect, rw, *cargs[1:], **{**cparams, "uri": True})


def inline_creator(cargs: list[Any], cparams: dict[str, Any]) -> Callable[[], InlineConnection]:
    """An `async_creator` for create_async_engine: inline connections sharing one write lock.

    `cargs`/`cparams`: sqlite3.connect's arguments, as SQLAlchemy's dialect derives them from the URL.
    """
    lock = asyncio.Lock()
    connector = partial(sqlite3.connect, *cargs, **cparams)
    checkpoints = Checkpoints(_existing_only(cargs, cparams))
    return lambda: InlineConnection(connector, lock, checkpoints)
