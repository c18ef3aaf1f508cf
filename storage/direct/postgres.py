"""Plans run on the asyncpg connection beneath SQLAlchemy's adapter, in the session's transaction.

SQLAlchemy's asyncpg adapter begins a transaction at a connection's first statement and keeps the
prepared statements it made in a cache of its own; a statement run here does what its cursor does with
both (`_prepare_and_execute`): the same BEGIN, the same prepared statement, the same row count, the same
errors. What it leaves out is what costs the CPU: the session's dispatch, the execution context, and a
greenlet hop for each driver call.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Delete, Insert, Select, Update, exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable

from storage.direct.plans import _FIXED, _LIST, _REQUIRED, DirectResult, Plan, make_plan, tell

_STATUS = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")  # as the adapter reads a row count


class PgTarget:
    """The asyncpg connection statements run on: in a session's transaction (begun by the adapter at its
    first statement, as SQLAlchemy's cursor begins it), or in autocommit (each statement its own
    transaction: no BEGIN and COMMIT round trips)."""

    __slots__ = ("adapter", "invalidate", "autocommit")

    def __init__(
        self,
        adapter: AsyncAdapt_asyncpg_connection,
        invalidate: Callable[[], Awaitable[Any]],
        *,
        autocommit: bool = False,
    ) -> None:
        self.adapter = adapter
        self.invalidate = invalidate  # what SQLAlchemy does with a connection the server dropped
        self.autocommit = autocommit


def compile_plan(
    statement: Executable, keys: tuple[str, ...], dialect: Dialect, result_keys: list[str] | None
) -> Plan | None:
    """`storage.direct.plans.compile_plan` for numbered placeholders ($1, $2 …). SQLAlchemy numbers the
    items of IN lists after the other parameters, so the values go in that order: the others first, then
    each list's items; the SQL for a list's length is SQLAlchemy's own expansion. Anything unusual (a
    parameter computed per execution, a literal one, a list of rows with RETURNING) stays with SQLAlchemy."""
    if not isinstance(statement, (Select, Insert, Update, Delete)):
        return None
    if statement._propagate_attrs.get("compile_state_plugin") == "orm" or statement.get_execution_options():
        return None
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
    if compiled.positiontup is None:
        return None
    if getattr(compiled, "insert_prefetch", ()) or getattr(compiled, "update_prefetch", ()):
        return None
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    binds = [by_name[name] for name in compiled.positiontup]
    if any(bind.callable is not None or bind.literal_execute for bind in binds):
        return None
    if any(
        b.expanding and (getattr(b.type, "_is_tuple_type", False) or not (b.required or b.value))
        for b in binds
    ):
        return None
    parameters: list[tuple[Any, Any, Callable[[Any], Any] | None]] = []
    lists: list[str] = []
    for bind in sorted(binds, key=lambda b: bool(b.expanding)):  # stable: each group in the SQL's order
        processor = bind.type._cached_bind_processor(dialect)
        if not bind.expanding:
            parameters.append((bind.key, _REQUIRED if bind.required else bind.value, processor))
        elif bind.required:
            lists.append(bind.key)
            parameters.append((bind.key, _LIST, processor))
        else:
            parameters.extend((_FIXED, value, processor) for value in bind.value)
    fixed = {bind.key: None for bind in binds if bind.required and not bind.expanding}

    def expander(lengths: tuple[int, ...]) -> str:
        given = dict(fixed, **{key: [None] * n for key, n in zip(lists, lengths, strict=True)})
        return str(compiled.construct_expanded_state(given, escape_names=False).statement)

    sql = expander(()) if not lists and any(bind.expanding for bind in binds) else compiled.string
    plan = make_plan(statement, sql, parameters, dialect, result_keys, None, lists)
    if plan is not None and lists:
        plan.expander = expander
    return plan


def adapter_of(dbapi_connection: Any) -> AsyncAdapt_asyncpg_connection | None:
    return dbapi_connection if isinstance(dbapi_connection, AsyncAdapt_asyncpg_connection) else None


async def run_numbered(plan: Plan, target: PgTarget, params: Any) -> DirectResult:
    """Run `plan` as the adapter's cursor would (Unfit from `plan.values` before anything is sent)."""
    many = isinstance(params, list)
    sql = plan.sql
    if many:
        values: Any = [plan.values(p) for p in params]
    elif plan.lists:
        lengths: list[int] = []
        values = plan.values(params or {}, lengths)
        sql = plan.lists_sql(tuple(lengths))
    else:
        values = plan.values(params or {})
    adapter = target.adapter
    dialect: Any = plan.dialect
    tell(sql, plan.statement)
    try:
        async with adapter._execute_mutex:
            if adapter._transaction is None and not target.autocommit:
                await adapter._start_transaction()
            if many:
                # As the adapter's `_executemany`: asyncpg's own statement cache, its type codecs reloaded.
                await adapter._check_type_cache_invalidation(dialect._invalidate_schema_cache_asof)
                await adapter._connection.executemany(sql, values)
                return plan.result([], -1)
            prepared, attributes = await adapter._prepare(sql, dialect._invalidate_schema_cache_asof)
            rows = await prepared.fetch(*values)
            status = prepared.get_statusmsg()
    except Exception as error:
        raise await _error(error, sql, plan, target) from error
    if plan.columns is not None:  # the first run: the processors SQLAlchemy picks for these columns' oids
        plan.use_results(
            [
                column.type._cached_result_processor(dialect, attribute.type.oid)
                for column, attribute in zip(plan.columns, attributes, strict=True)
            ]
        )
    found = _STATUS.match(status or "")
    return plan.result(rows, int(found.group(1)) if found else -1)


async def _error(error: Exception, sql: str, plan: Plan, target: PgTarget) -> exc.StatementError:
    """SQLAlchemy's error for `error`, parameters hidden; a connection the server dropped is invalidated so
    the pool never hands it out again (what SQLAlchemy's execution does)."""
    dialect: Any = plan.dialect
    dbapi = dialect.loaded_dbapi
    translated: Exception = error
    if not isinstance(error, dbapi.Error):
        try:
            target.adapter._handle_exception(error)
        except Exception as raised:
            translated = raised
    if isinstance(translated, (dbapi.InvalidCachedStatementError, dbapi.InternalServerError)):
        dialect._invalidate_schema_cache()  # a table's columns changed: prepare again (as SQLAlchemy does)
    gone = isinstance(translated, dbapi.Error) and dialect.is_disconnect(translated, target.adapter, None)
    if gone:
        await target.invalidate()
    return exc.DBAPIError.instance(
        sql,
        None,
        translated,
        dbapi.Error,
        hide_parameters=True,
        dialect=dialect,
        connection_invalidated=gone,
    )
