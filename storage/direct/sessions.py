"""A session and a connection whose statements run directly on the inline SQLite connection (see
storage/direct/__init__.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import Connection, Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.base import Executable
from sqlalchemy.util.concurrency import greenlet_spawn

from storage.direct.plans import PLANS, Unfit, compile_plan, own_plan, remember, shape, tell
from storage.direct.postgres import PgTarget, adapter_of, run_numbered
from storage.direct.postgres import compile_plan as compile_numbered
from storage.sqlite_inline import InlineConnection


class DirectSession(AsyncSession):
    """An AsyncSession whose Core statements run directly on the inline SQLite connection, or on the asyncpg
    connection beneath SQLAlchemy's adapter (see above)."""

    _direct_tx: Any = None
    _direct_connection: sqlite3.Connection | None = None
    _direct_pg: PgTarget | None = None  # PostgreSQL: the session transaction's asyncpg connection
    _direct_off = False  # bound to something else than the inline SQLite or asyncpg: never direct
    _dialect_name: str | None = None
    _own: Connection | None = None  # the connection of a transaction begun here (`_begin_own`)
    _bind_before: Any = None  # the session's bind (the engine) while it is bound to `_own`

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
        name = self._dialect_name
        if name is None:
            name = self._dialect_name = self.sync_session.get_bind().dialect.name
        key = (id(statement), shape(statement, params), name)
        seen = PLANS.get(key)
        if seen is None or seen.statement is not statement:
            remember(key, statement)
            return await self._through(statement, params, execution_options, bind_arguments, kw)
        plan = seen.plan
        if plan is not None and plan.accepts(params) and self._clean():
            connection = await self._sqlite()
            try:
                if connection is not None:
                    return plan.run(connection, params)
                if self._direct_pg is not None:
                    return await run_numbered(plan, self._direct_pg, params)
            except Unfit:
                pass
        result = await self._through(statement, params, execution_options, bind_arguments, kw)
        if not seen.compiled and not self._direct_off:
            # Seen before: worth compiling (a statement built once and kept, not one built per call).
            seen.compiled = True
            keys = list(result.keys()) if getattr(result, "returns_rows", True) else None
            dialect = self.sync_session.get_bind().dialect
            compile_for = compile_numbered if dialect.paramstyle == "numeric_dollar" else compile_plan
            seen.plan = compile_for(statement, key[1], dialect, keys)
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
        """The sqlite3 connection of this session's transaction (begun here if need be); None on
        PostgreSQL, whose asyncpg connection is then `_direct_pg`."""
        if self._own is not None:
            return self._direct_connection
        transaction = self.sync_session.get_transaction()
        if transaction is None and self._dialect_name == "sqlite":
            return await self._begin_own()
        if transaction is not None and transaction is self._direct_tx:
            return self._direct_connection
        # SQLite: BEGIN IMMEDIATE, the write lock (storage/database.py). PostgreSQL: SQLAlchemy's session
        # transaction; the adapter sends BEGIN with the first statement, here or through SQLAlchemy.
        connection = await self.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        self._direct_tx = self.sync_session.get_transaction()
        self._direct_connection = self._direct_pg = None
        if isinstance(driver, InlineConnection):
            self._direct_connection = driver.sqlite
        elif (adapter := adapter_of(raw.dbapi_connection)) is not None:
            self._direct_pg = PgTarget(adapter, connection.invalidate)
        else:
            self._direct_off = True
        return self._direct_connection

    async def _begin_own(self) -> sqlite3.Connection | None:
        """No transaction yet: begin one on a connection of the pool, without SQLAlchemy's session
        transaction (~110 µs of CPU less a unit of work). Whatever the session later does through
        SQLAlchemy (ORM objects, other statements) joins it: the session is bound to this connection
        meanwhile, and SQLAlchemy's BEGIN finds the transaction begun (storage/sqlite_inline.py)."""
        engine = self.bind
        assert isinstance(engine, AsyncEngine)
        raw = await engine.raw_connection()
        inline = raw.driver_connection
        if not isinstance(inline, InlineConnection):
            await greenlet_spawn(raw.close)
            self._direct_off = True
            return None
        try:
            await inline.begin_immediate()
        except BaseException:
            await greenlet_spawn(raw.close)
            raise
        tell("BEGIN IMMEDIATE")
        self._own = Connection(engine.sync_engine, connection=raw)
        self._bind_before, self.sync_session.bind = self.sync_session.bind, self._own
        self._direct_connection = inline.sqlite
        return self._direct_connection

    async def commit(self) -> None:
        if self._own is None:
            await super().commit()
            return
        try:
            if self.sync_session.get_transaction() is None and self._clean():
                tell("COMMIT")  # only statements run here: COMMIT here
                await self._own_inline().commit()
            else:
                await super().commit()  # SQLAlchemy joined (and flushes what is pending): it commits
        finally:
            await self._end_own()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            await self._end_own()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self._end_own()

    def _own_inline(self) -> InlineConnection:
        assert self._own is not None
        inline = self._own.connection.driver_connection
        assert isinstance(inline, InlineConnection)
        return inline

    async def _end_own(self) -> None:
        """The transaction begun here is over (rolled back if still open); its connection goes back."""
        own = self._own
        if own is None:
            return
        self._own = None
        self._direct_connection = None
        self.sync_session.bind = self._bind_before
        try:
            inline = own.connection.driver_connection
            if isinstance(inline, InlineConnection) and inline.in_transaction:
                tell("ROLLBACK")
                await inline.rollback()
        finally:
            await greenlet_spawn(own.close)


class DirectConnection:
    """Statements run directly on a connection of the engine's pool, without a session (the sender's
    "sent", one per message: storage/queues/outbox.py): short transactions on the inline SQLite (`begin`),
    single statements in autocommit on PostgreSQL (`autocommit`). Only statements the plans take (built
    once and kept); another is a programming error."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.dialect = engine.dialect
        self._sqlite: sqlite3.Connection | None = None
        self._pg: PgTarget | None = None
        self._held: Any = None  # a pool connection kept between transactions while someone is `holding`
        self._holders = 0

    def get_bind(self) -> AsyncEngine:
        return self._engine

    @asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        """Keep one pool connection for the transactions begun meanwhile (a sender's pass: one checkout
        instead of one for every message's "sent")."""
        self._holders += 1
        try:
            yield
        finally:
            self._holders -= 1
            if self._holders == 0 and self._held is not None:
                raw, self._held = self._held, None
                await greenlet_spawn(raw.close)

    @asynccontextmanager
    async def _checkout(self) -> AsyncIterator[Any]:
        """A pool connection (the held one, if any), back to the pool afterwards unless held; one that
        failed is never kept."""
        raw = self._held if self._held is not None else await self._engine.raw_connection()
        keep = self._holders > 0
        try:
            yield raw
        except BaseException:
            keep = False
            raise
        finally:
            if keep:
                self._held = raw
            else:
                if self._held is raw:
                    self._held = None
                await greenlet_spawn(raw.close)  # back to the pool (its reset is a no-op after COMMIT)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[DirectConnection]:
        """SQLite: BEGIN IMMEDIATE (the engine's write lock, storage/sqlite_inline.py) … COMMIT, or
        ROLLBACK on an error."""
        async with self._checkout() as raw:
            inline = raw.driver_connection
            if not isinstance(inline, InlineConnection):
                raise TypeError("DirectConnection.begin needs the inline SQLite engine (storage/database.py)")
            await inline.begin_immediate()
            tell("BEGIN IMMEDIATE")
            self._sqlite = inline.sqlite
            try:
                yield self
            except BaseException:
                tell("ROLLBACK")
                await inline.rollback()
                raise
            finally:
                self._sqlite = None
            tell("COMMIT")
            await inline.commit()

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[DirectConnection]:
        """PostgreSQL: each statement run in the block is a transaction of its own (one round trip)."""
        async with self._checkout() as raw:
            adapter = adapter_of(raw.dbapi_connection)
            if adapter is None or adapter._transaction is not None:
                raise TypeError("DirectConnection.autocommit needs an idle asyncpg connection")

            async def invalidate() -> None:
                await greenlet_spawn(raw.invalidate)

            self._pg = PgTarget(adapter, invalidate, autocommit=True)
            try:
                yield self
            finally:
                self._pg = None

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        if self._pg is not None:
            return await run_numbered(
                own_plan(statement, params, self.dialect, compile_numbered), self._pg, params
            )
        assert self._sqlite is not None, "execute within `begin()` or `autocommit()`"
        return own_plan(statement, params, self.dialect, compile_plan).run(self._sqlite, params)

    async def scalars(self, statement: Executable, params: Any = None) -> Any:
        return (await self.execute(statement, params)).scalars()
