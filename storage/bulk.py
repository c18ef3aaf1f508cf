"""Statements over thousands of rows at once (a 100k-row ledger import): batched IN lists, INSERTs, UPDATEs.

They work on the tables, not through ORM objects: loading or flushing 100k mapped objects costs seconds of
bookkeeping that an import does not need. Rows of those tables already loaded in the session are not
refreshed, so callers read none of them afterwards in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

# Ids per IN (...) and rows per executemany: well under SQLite's and asyncpg's bound-parameter limits (32k).
BATCH = 5000


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def update_by_key(session: AsyncSession, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
    """UPDATE each row (a dict of column values, `key` among them) by its key, one executemany per batch."""
    if not rows:
        return
    fields = [name for name in rows[0] if name != key]
    # A bindparam may not carry a column's own name in SET: the new values are passed as new_<column>.
    statement = (
        update(table)
        .where(table.c[key] == bindparam("row_key"))
        .values({name: bindparam(f"new_{name}") for name in fields})
    )
    params = [{"row_key": row[key], **{f"new_{name}": row[name] for name in fields}} for row in rows]
    for chunk in chunks(params):
        await session.execute(statement, list(chunk))
