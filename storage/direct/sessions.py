"""A session and a connection whose statements run directly on the inline SQLite connection (see
storage/direct/__init__.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.base import Executable
from sqlalchemy.util.concurrency import greenlet_spawn

from storage.direct.plans import PLANS, Unfit, compile_plan, own_plan, remember, shape, tell
from storage.sqlite_inline import InlineConnection


class DirectSession(AsyncSession):
    """An AsyncSession whose Core statements run directly on the inline SQLite connection (see above)."""

    _direct_tx: Any = None
    _direct_connection: sqlite3.Connection | None = None
    _direct_off = False  # bound to something else than the inline SQLite: never direct

    async def execute(  # one signature for every overload
        self,
        statement: Executable,
        params: Any = None,
        *,
        execution_options: Any = None,
        bind_arguments: Any = None,
        **kw: Any,
    ) -> Result[Any]:
        if self._direct_off or execution_options or bind_arguments is not None or kw:
            return await self._through(statement, params, execution_options, bind_arguments, kw)
        key = (id(statement), shape(statement, params))
        seen = PLANS.get(key)
        if seen is None or seen.statement is not statement:
            remember(key, statement)
            return await self._through(statement, params, execution_options, bind_arguments, kw)
        plan = seen.plan
        if plan is not None and plan.accepts(params) and self._clean():
            connection = await self._sqlite()
            if connection is not None:
                try:
                    return plan.run(connection, params)
                except Unfit:
                    pass
        result = await self._through(statement, params, execution_options, bind_arguments, kw)
        if not seen.compiled and not self._direct_off:
            # Seen before: worth compiling (a statement built once and kept, not one built per call).
            seen.compiled = True
            keys = list(result.keys()) if getattr(result, "returns_rows", True) else None
            seen.plan = compile_plan(statement, key[1], self.sync_session.get_bind().dialect, keys)
        return result

    def _clean(self) -> bool:
        """No pending ORM change: SQLAlchemy would flush it before running the statement."""
        sync = self.sync_session
        return not (sync.autoflush and (sync.new or sync.deleted or sync.identity_map.check_modified()))

    async def scalar(self, statement: Executable, params: Any = None, **kw: Any) -> Any:
        return (await self.execute(statement, params, **kw)).scalar()

    async def scalars(self, statement: Executable, params: Any = None, **kw: Any) -> Any:
        return (await self.execute(statement, params, **kw)).scalars()

    async def _through(
        self, statement: Executable, params: Any, execution_options: Any, bind_arguments: Any, kw: Any
    ) -> Result[Any]:
        options = {} if execution_options is None else {"execution_options": execution_options}
        return await super().execute(statement, params, bind_arguments=bind_arguments, **options, **kw)

    async def _sqlite(self) -> sqlite3.Connection | None:
        """The sqlite3 connection of this session's transaction (begun here if need be)."""
        transaction = self.sync_session.get_transaction()
        if transaction is not None and transaction is self._direct_tx:
            return self._direct_connection
        connection = await self.connection()  # BEGIN IMMEDIATE: the write lock (storage/database.py)
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        if not isinstance(driver, InlineConnection):
            self._direct_off = True
            return None
        self._direct_tx = self.sync_session.get_transaction()
        self._direct_connection = driver.sqlite
        return self._direct_connection


class DirectConnection:
    """Short transactions of statements run directly, on a connection of the inline SQLite engine's pool
    and without a session (the sender's "sent", one transaction per message: storage/queues/outbox.py).
    Only statements `_plan` takes (built once and kept); another is a programming error."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.dialect = engine.dialect
        self._sqlite: sqlite3.Connection | None = None

    def get_bind(self) -> AsyncEngine:
        return self._engine

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[DirectConnection]:
        """BEGIN IMMEDIATE (the engine's write lock, storage/sqlite_inline.py) … COMMIT, or ROLLBACK on
        an error; the connection goes back to the pool either way."""
        raw = await self._engine.raw_connection()
        try:
            inline = raw.driver_connection
            if not isinstance(inline, InlineConnection):
                raise TypeError("DirectConnection needs the inline SQLite engine (storage/database.py)")
            await inline.begin_immediate()
            tell("BEGIN IMMEDIATE")
            self._sqlite = inline.sqlite
            try:
                yield self
            except BaseException:
                tell("ROLLBACK")
                await inline.rollback()
                raise
            tell("COMMIT")
            await inline.commit()
        finally:
            self._sqlite = None
            await greenlet_spawn(raw.close)  # back to the pool (its reset is a no-op after COMMIT)

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        assert self._sqlite is not None, "execute within `begin()`"
        return own_plan(statement, params, self.dialect).run(self._sqlite, params)

    async def scalars(self, statement: Executable, params: Any = None) -> Any:
        return (await self.execute(statement, params)).scalars()
