"""Issue 16 item 2: SQLite in WAL with synchronous=NORMAL; PostgreSQL without a ping per checkout (a
recycle age instead); the drivers' prepared-statement caches sized for the app's statements."""

from __future__ import annotations

from sqlalchemy import text

from storage.database import POOL_RECYCLE_SECONDS, STATEMENT_CACHE
from tests.integration.conftest import Database


async def test_connections_are_set_up_for_the_hot_path(database: Database) -> None:
    engine = database.engine
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        if database.kind == "sqlite":
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
        else:
            # SQLAlchemy's adapter prepares each statement once per connection and keeps it in this cache.
            cache = raw.dbapi_connection._prepared_statement_cache  # type: ignore[union-attr]
            assert cache.capacity == STATEMENT_CACHE
    if database.kind == "postgresql":
        assert engine.pool._pre_ping is False  # type: ignore[attr-defined]  # no round trip per checkout
        assert engine.pool._recycle == POOL_RECYCLE_SECONDS  # type: ignore[attr-defined]
