"""SQLite on the event loop's thread (storage/sqlite_inline.py): no worker thread, and no wait for the write
lock ever blocks the loop — whether the holder is a transaction of this process or another connection."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import sqlite_inline
from storage.database import make_engine
from storage.sqlite_inline import InlineConnection


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    async with made.begin() as conn:
        await conn.execute(text("CREATE TABLE notes (n INTEGER)"))
    yield made
    await made.dispose()


async def _ticks_while(work: asyncio.Future[object] | asyncio.Task[object]) -> int:
    """How many times a 1 ms ticker ran while `work` was pending (0: the loop was blocked)."""
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.001)
        ticks += 1
    await work
    return ticks


async def _insert(engine: AsyncEngine, n: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"INSERT INTO notes VALUES ({n})"))


async def test_calls_run_on_the_loop_thread_without_a_worker(engine: AsyncEngine) -> None:
    threads_before = threading.active_count()
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, InlineConnection)
        seen: list[int] = []
        raw.driver_connection._conn.create_function("whoami", 0, lambda: seen.append(threading.get_ident()))
        await conn.execute(text("SELECT whoami()"))
    assert seen == [threading.get_ident()]
    assert threading.active_count() == threads_before


async def test_transactions_of_the_process_queue_in_order(engine: AsyncEngine) -> None:
    order: list[str] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO notes VALUES (1)"))
            first_in.set()
            order.append("first holds")
            await asyncio.sleep(0.2)  # holding the write lock, away from the database
            order.append("first commits")

    async def second() -> None:
        await first_in.wait()
        async with engine.begin() as conn:
            order.append("second in")
            await conn.execute(text("INSERT INTO notes VALUES (2)"))

    held = asyncio.ensure_future(asyncio.gather(first(), second()))
    assert await _ticks_while(held) > 20  # the loop ran all along
    assert order == ["first holds", "first commits", "second in"]
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar() == 2


async def test_another_connection_holding_the_lock_is_waited_for_on_the_loop(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO notes VALUES (3)"))

    writing = asyncio.ensure_future(write())
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    assert await _ticks_while(writing) > 30
    other.close()


async def test_a_lock_held_too_long_says_database_is_locked_and_frees_the_turn(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "LOCK_TIMEOUT", 0.2)
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(Exception, match="database is locked"):
        await _insert(engine, 4)
    other.execute("COMMIT")
    other.close()
    async with engine.begin() as conn:  # the process's turn was given back
        await conn.execute(text("INSERT INTO notes VALUES (5)"))
        assert (await conn.execute(text("SELECT count(*) FROM notes"))).scalar() == 1


async def test_a_failed_transaction_gives_the_turn_back(engine: AsyncEngine) -> None:
    async def failing() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO notes VALUES (6)"))
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        await failing()
    async with asyncio.timeout(2):
        await _insert(engine, 7)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT n FROM notes"))).scalars().all() == [7]


def test_the_desk_keeps_the_threaded_driver(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}", inline=False)

    async def driver() -> object:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            kind = type(raw.driver_connection)
        await engine.dispose()
        return kind

    assert asyncio.run(driver()) is not InlineConnection


async def test_the_desk_server_asks_for_the_threaded_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.app
    from bot.settings import Settings
    from web.cli import serve

    asked: dict[str, object] = {}

    async def build_app(_settings: Settings, **kwargs: object) -> None:
        asked.update(kwargs)
        raise RuntimeError("stop before serving")

    monkeypatch.setattr(bot.app, "build_app", build_app)
    with pytest.raises(RuntimeError, match="stop before serving"):
        await serve(Settings())
    assert asked.get("inline_sqlite") is False


async def test_wal_checkpoints_run_off_the_loop_and_keep_the_wal_short(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own checkpoint ran in the commit that passed 1,000 WAL pages, on the loop, fsync included
    (6-14 ms in 42 of 3,703 commits of bench_bot's in-process part)."""
    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_COMMITS", 20)
    ran_on: list[int] = []
    checkpoint = sqlite_inline.Checkpoints._checkpoint

    def spied(self: sqlite_inline.Checkpoints) -> None:
        ran_on.append(threading.get_ident())
        checkpoint(self)

    monkeypatch.setattr(sqlite_inline.Checkpoints, "_checkpoint", spied)
    async with engine.connect() as conn:  # the connections' own is only a backstop
        backstop = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
    assert backstop == sqlite_inline.BACKSTOP_PAGES
    for n in range(400):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO notes VALUES (:n)"), {"n": n})
            await conn.execute(text("UPDATE notes SET n = n + 1 WHERE n < 50"))
    assert len(ran_on) >= 400 // 20 - 1
    assert threading.get_ident() not in ran_on
    # Each caught up with the WAL (no writer of the process ran meanwhile), so it started again from its
    # beginning: what is in it now is about twenty commits' worth, not four hundred.
    outside = sqlite3.connect(tmp_path / "inline.db")
    try:
        _busy, frames, _done = outside.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        outside.close()
    assert frames < 100, frames
