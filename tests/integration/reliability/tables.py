"""Read a whole database back: every row of every table, and every text value in it (JSON columns come
back parsed, so their strings and keys are included)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Base


async def dump(engine: AsyncEngine, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (sorted), as the database returns them."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = (await connection.execute(select(table))).all()
            found[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from _strings(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _strings(inner)


async def every_text(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(table, text) for every string anywhere in the database, JSON values and keys included."""
    found = []
    for table, rows in (await dump(engine)).items():
        for row in rows:
            found.extend((table, text) for text in _strings(list(row)))
    return found
