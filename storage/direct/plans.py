"""Statements compiled once for SQLite and run on a sqlite3 connection (see storage/direct/__init__.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Delete, Insert, Select, Update, exc
from sqlalchemy.engine import Dialect, IteratorResult
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.sql.base import Executable

_REQUIRED = object()  # a parameter the caller must give
_FIXED = object()  # the key of a value fixed in the statement (never among the caller's parameters)
_LIST = object()  # an IN list the caller gives: one "?" per item, the SQL written for each length
# Rows of one multi-row INSERT: SQLite takes at most 32,766 parameters a statement (999 before 3.32).
_MAX_PARAMETERS = 999
PLANS_KEPT = 2_000  # statements (and parameter shapes) remembered; the app has a few hundred
# Told of each statement run here: its SQL and the statement object (None for the BEGIN IMMEDIATE, COMMIT
# and ROLLBACK of a transaction begun here: a DirectConnection's, or a DirectSession's own).
Observer = Callable[[str, Executable | None], None]
_observers: list[Observer] = []


@contextmanager
def observe(observer: Observer) -> Iterator[None]:
    """Call `observer(sql, statement)` for each statement run here: what counts statements and commits
    (benchmarks, tests) listens to SQLAlchemy's events and to this."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


class DirectResult(IteratorResult[Any]):
    """A buffered Result, plus the `rowcount` of a CursorResult."""

    rowcount: int = -1


class Unfit(Exception):
    """This execution goes through SQLAlchemy (a required parameter missing: SQLAlchemy says which)."""


class Plan:
    """One statement (one parameter shape) compiled for SQLite."""

    __slots__ = (
        "statement",
        "sql",
        "parameters",
        "metadata",
        "results",
        "returns_rows",
        "dialect",
        "rows_expr",
        "lists",
        "expander",
        "columns",
        "_many",
    )

    def __init__(
        self,
        statement: Executable,
        sql: str,
        parameters: Sequence[tuple[str, Any, Callable[[Any], Any] | None]],
        keys: Sequence[str] | None,
        results: Sequence[Callable[[Any], Any] | None],
        dialect: Dialect,
        rows_expr: str | None = None,
        lists: Sequence[str] = (),
    ) -> None:
        """`rows_expr`: an INSERT's "(?, ?, ...)", repeated for a list of parameter sets with RETURNING.
        `lists`: the SQL's placeholder of each IN list the caller gives, in order."""
        self.statement = statement
        self.sql = sql
        # (key the caller gives, default or _REQUIRED, the type's bind processor), in the SQL's order
        self.parameters = tuple(parameters)
        self.returns_rows = keys is not None
        self.metadata = SimpleResultMetaData(list(keys or ()))
        self.results = tuple(results) if any(results) else None
        self.dialect = dialect
        self.rows_expr = rows_expr
        self.lists = tuple(lists)
        # Writes the SQL for IN lists of these lengths where "?" cannot simply be repeated ($n numbering).
        self.expander: Callable[[tuple[int, ...]], str] | None = None
        self.columns: list[Any] | None = None  # result processors still to make, from these columns
        self._many: dict[Any, str] = {}  # rows (or IN lists' lengths) -> the SQL written for them

    def accepts(self, params: Any) -> bool:
        """A list of parameter sets with RETURNING needs the multi-row form of an INSERT; IN lists one set."""
        if not isinstance(params, list):
            return True
        return not self.lists and not (self.returns_rows and self.rows_expr is None)

    def lists_sql(self, lengths: tuple[int, ...]) -> str:
        sql = self._many.get(lengths)
        if sql is None:
            if self.expander is not None:
                sql = self.expander(lengths)
            else:
                sql = self.sql
                for token, length in zip(self.lists, lengths, strict=True):
                    sql = sql.replace(token, ", ".join("?" * length))
            if len(self._many) < 64:
                self._many[lengths] = sql
        return sql

    def _rows_sql(self, rows: int) -> str:
        sql = self._many.get(rows)
        if sql is None:
            assert self.rows_expr is not None
            sql = self.sql.replace(self.rows_expr, ", ".join([self.rows_expr] * rows))
            if len(self._many) < 64:
                self._many[rows] = sql
        return sql

    def values(self, params: Mapping[str, Any], lengths: list[int] | None = None) -> tuple[Any, ...]:
        out: list[Any] = []
        for key, default, processor in self.parameters:
            value = params.get(key, default)
            if value is _REQUIRED:
                raise Unfit(key)
            if default is _LIST:
                if not isinstance(value, (list, tuple, set, frozenset)) or not value or lengths is None:
                    raise Unfit(key)  # an empty IN: SQLAlchemy writes its own SQL for it
                out.extend(v if processor is None or v is None else processor(v) for v in value)
                lengths.append(len(value))
                continue
            out.append(processor(value) if processor is not None and value is not None else value)
        return tuple(out)

    def run(self, connection: sqlite3.Connection, params: Any) -> DirectResult:
        if not isinstance(params, list):
            if self.lists:
                lengths: list[int] = []
                values = self.values(params or {}, lengths)
                return self.result(*self._execute(connection, self.lists_sql(tuple(lengths)), values))
            return self.result(*self._execute(connection, self.sql, self.values(params or {})))
        sets = [self.values(p) for p in params]
        if not self.returns_rows:
            return self.result(*self._execute(connection, self.sql, sets, many=True))
        # One multi-row INSERT … RETURNING a page, as SQLAlchemy's "insertmanyvalues" does.
        page = max(1, _MAX_PARAMETERS // max(1, len(self.parameters)))
        rows: list[Any] = []
        count = 0
        for start in range(0, len(sets), page):
            chunk = sets[start : start + page]
            flat = tuple(value for values in chunk for value in values)
            found, written = self._execute(connection, self._rows_sql(len(chunk)), flat)
            rows.extend(found)
            count += written
        return self.result(rows, count)

    def _execute(
        self, connection: sqlite3.Connection, sql: str, values: Any, *, many: bool = False
    ) -> tuple[list[Any], int]:
        for observer in _observers:
            observer(sql, self.statement)
        try:
            cursor = connection.executemany(sql, values) if many else connection.execute(sql, values)
            return (cursor.fetchall() if self.returns_rows else []), cursor.rowcount
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(
                sql, None, error, sqlite3.Error, hide_parameters=True, dialect=self.dialect
            ) from error

    def use_results(self, processors: Sequence[Callable[[Any], Any] | None]) -> None:
        self.results = tuple(processors) if any(processors) else None
        self.columns = None

    def result(self, rows: list[Any], rowcount: int) -> DirectResult:
        if self.results is not None:
            processors = self.results
            rows = [
                tuple(
                    value if p is None or value is None else p(value)
                    for p, value in zip(processors, row, strict=True)
                )
                for row in rows
            ]
        result = DirectResult(self.metadata, iter(rows))
        result.rowcount = rowcount
        return result


def compile_plan(
    statement: Executable, keys: tuple[str, ...], dialect: Dialect, result_keys: list[str] | None
) -> Plan | None:
    """Compile `statement` for direct runs, or None when it must stay with SQLAlchemy. `result_keys`: the
    rows' keys, as SQLAlchemy's result names them (None: the statement returns no rows)."""
    if not isinstance(statement, (Select, Insert, Update, Delete)):
        return None
    if statement._propagate_attrs.get("compile_state_plugin") == "orm":  # mapped classes or attributes
        return None
    if statement.get_execution_options():
        return None
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
    if compiled.positiontup is None:
        return None
    if getattr(compiled, "insert_prefetch", ()) or getattr(compiled, "update_prefetch", ()):
        return None  # Python-side defaults: SQLAlchemy computes them per execution
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    sql: str = compiled.string
    parameters: list[tuple[Any, Any, Callable[[Any], Any] | None]] = []
    lists: list[str] = []
    for name in compiled.positiontup:
        bind = by_name[name]
        if bind.callable is not None or bind.literal_execute:
            return None
        processor = bind.type._cached_bind_processor(dialect)
        if bind.expanding:
            # A fixed list (`column.in_(CONSTANTS)`) is written out once; one the caller gives is not.
            token = f"__[POSTCOMPILE_{name}]"
            if sql.count(token) != 1 or getattr(bind.type, "_is_tuple_type", False):
                return None
            if bind.required:
                lists.append(token)
                parameters.append((bind.key, _LIST, processor))
                continue
            fixed = bind.value
            if not fixed:
                return None
            sql = sql.replace(token, ", ".join("?" * len(fixed)))
            parameters.extend((_FIXED, value, processor) for value in fixed)
            continue
        parameters.append((bind.key, _REQUIRED if bind.required else bind.value, processor))
    rows_expr = None
    if isinstance(statement, Insert) and statement._returning:
        # SQLAlchemy's own rewrite of an INSERT for many rows ("insertmanyvalues"), from its executemany form
        many = getattr(
            statement.compile(dialect=dialect, column_keys=list(keys) or None, for_executemany=True),
            "_insertmanyvalues",
            None,
        )
        group = f"({many.single_values_expr})" if many is not None else ""
        if (
            many is not None
            and not many.is_default_expr
            and sql.count(group) == 1
            and group.count("?") == len(parameters)  # every parameter is the row's
        ):
            rows_expr = group
    return make_plan(statement, sql, parameters, dialect, result_keys, rows_expr, lists)


def make_plan(
    statement: Executable,
    sql: str,
    parameters: list[tuple[Any, Any, Callable[[Any], Any] | None]],
    dialect: Dialect,
    result_keys: list[str] | None,
    rows_expr: str | None = None,
    lists: Sequence[str] = (),
) -> Plan | None:
    if result_keys is None:
        return Plan(statement, sql, parameters, None, (), dialect, rows_expr, lists)
    columns = list(statement.exported_columns)  # type: ignore[attr-defined]  # Select, DML with RETURNING
    if len(columns) != len(result_keys) or len(set(result_keys)) != len(result_keys):
        return None
    if dialect.paramstyle == "numeric_dollar":  # asyncpg: a type's processor may need the column's oid
        plan = Plan(statement, sql, parameters, result_keys, (), dialect, rows_expr, lists)
        plan.columns = columns  # processors from the first run's row description (storage/direct/postgres.py)
        return plan
    results = [column.type._cached_result_processor(dialect, None) for column in columns]
    return Plan(statement, sql, parameters, result_keys, results, dialect, rows_expr, lists)


class Seen:
    __slots__ = ("statement", "plan", "compiled")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement  # held: the id stays this statement's while it is remembered
        self.plan: Plan | None = None
        self.compiled = False  # True once `compile_plan` decided (plan None: stays with SQLAlchemy)


# (the statement's id, its parameters' shape, the dialect's name): one statement may run on SQLite and
# PostgreSQL in one process (tests, tools), compiled for each.
Key = tuple[int, tuple[str, ...], str]
PLANS: dict[Key, Seen] = {}


def remember(key: Key, statement: Executable) -> Seen:
    """A statement seen (a first time, or again after the memory was full and cleared)."""
    if len(PLANS) >= PLANS_KEPT:
        PLANS.clear()
    seen = PLANS[key] = Seen(statement)
    return seen


def shape(statement: Executable, params: Any) -> tuple[str, ...]:
    # An INSERT or UPDATE compiles to the columns its parameters name (SQLAlchemy's column_keys).
    if isinstance(statement, Select) or not params:
        return ()
    first = params[0] if isinstance(params, list) else params
    return tuple(sorted(first))


def tell(sql: str, statement: Executable | None = None) -> None:
    for observer in _observers:
        observer(sql, statement)


Compiler = Callable[[Executable, tuple[str, ...], Dialect, "list[str] | None"], "Plan | None"]


def own_plan(statement: Executable, params: Any, dialect: Dialect, compiler: Compiler) -> Plan:
    """The plan of a statement run without SQLAlchemy's path to learn from: its rows' keys are its columns'."""
    key = (id(statement), shape(statement, params), dialect.name)
    seen = PLANS.get(key)
    if seen is None or seen.statement is not statement or not seen.compiled:
        seen = remember(key, statement)
        seen.compiled = True
        returns_rows = isinstance(statement, Select) or bool(getattr(statement, "_returning", ()))
        keys = list(statement.exported_columns.keys()) if returns_rows else None  # type: ignore[attr-defined]
        seen.plan = compiler(statement, key[1], dialect, keys)
    if seen.plan is None or not seen.plan.accepts(params):
        raise TypeError(f"not a statement to run directly: {statement}")
    return seen.plan
