"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util.concurrency import await_

from storage.direct import DirectSession
from storage.sqlite_inline import BUSY_TIMEOUT_MS, inline_creator


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# Statements prepared once per connection and reused: the driver's cache (SQLAlchemy's own cache of
# compiled SQL is on by default). The app has a few hundred distinct statements; the drivers keep 100-128.
STATEMENT_CACHE = 500
# PostgreSQL connections older than this are replaced when checked out (instead of a ping on every
# checkout: one round trip per transaction). A connection dropped in between fails its transaction, which
# the transports retry (storage.errors.transient), and the pool then discards it.
POOL_RECYCLE_SECONDS = 1800


_INLINE_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def is_inline(engine: AsyncEngine) -> bool:
    """A file SQLite engine whose connections run on the event loop's thread (storage/sqlite_inline.py)."""
    return engine.sync_engine in _INLINE_ENGINES


def make_engine(url: str, *, inline: bool = True, **kwargs: Any) -> AsyncEngine:
    """Create the engine; SQLite gets WAL and a busy timeout so the console and a sender can share it.

    A file SQLite database is called on the event loop's thread (`inline`, storage/sqlite_inline.py: no
    worker-thread hand-over per call, waits for the write lock without blocking the loop); the web desk
    passes inline=False and keeps aiosqlite's thread, so a long report query never holds up its loop.

    SQLite runs with `synchronous=NORMAL` in WAL mode: a commit is durable once the WAL is synced at the
    next checkpoint; a power cut (not a process crash) may lose the last transactions, never corrupt the
    file. PostgreSQL gets no pre-ping (one round trip per checkout) but a recycle age.

    SQL parameters are left out of error messages: they carry residents' messages, addresses and phone
    numbers, and errors end up in logs (a failed tick, a failed outbox pass).
    """
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        inline = inline and ":memory:" not in url
        connect_args = {"timeout": 30, "cached_statements": STATEMENT_CACHE}
        if inline:
            sa_url = make_url(url)
            cargs, cparams = sa_url.get_dialect()().create_connect_args(sa_url)
            creator = inline_creator(
                list(cargs), {**cparams, **connect_args, **kwargs.pop("connect_args", {})}
            )
            engine = create_async_engine(url, async_creator=creator, **kwargs)
            _INLINE_ENGINES.add(engine.sync_engine)
        else:
            engine = create_async_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.close()
            # We issue BEGIN ourselves (below); the driver's implicit, deferred BEGIN would let two
            # concurrent transactions (a handler and the outbox sender) both read and then fail with
            # "database is locked" when one upgrades to a write, without waiting for busy_timeout.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # IMMEDIATE takes the write lock up front, so transactions queue on busy_timeout instead.
            if inline:
                await_(connection.connection.driver_connection.begin_immediate())
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("prepared_statement_cache_size", STATEMENT_CACHE)
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    return create_async_engine(url, connect_args=connect_args, **kwargs)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions of the inline SQLite engine and of PostgreSQL (asyncpg) run the Core statements they repeat
    directly on the driver's connection (storage/direct); the desk's threaded SQLite keeps SQLAlchemy's."""
    if is_inline(engine) or engine.dialect.driver == "asyncpg":
        return async_sessionmaker(engine, expire_on_commit=False, class_=DirectSession)
    return async_sessionmaker(engine, expire_on_commit=False)
