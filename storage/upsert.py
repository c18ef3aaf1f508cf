"""INSERT ... ON CONFLICT for both dialects (SQLite 3.35+ and PostgreSQL share the syntax)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

# Each dialect's INSERT construct, by dialect name.
INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_for(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT construct, which has on_conflict_do_update / on_conflict_do_nothing."""
    return INSERTS.get(session.get_bind().dialect.name, sqlite.insert)(table)
