"""Keep personal data only as long as it is needed: sent messages are deleted after some days, the free
texts of closed orders are redacted after a longer retention (bot/schedule/retention.py ticks them).

Each call does a bounded batch in its own transaction, so a first run over years of history neither
holds locks for long nor grows one transaction without limit; the next tick continues.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OutboxRow, WorkOrderRow
from storage.repositories.privacy import redact_orders

_FINAL = ("sent", "failed")  # outbox rows nobody will send again
_OVER = ("closed", "cancelled")


class SqlRetention:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def prune_sent(self, created_before: datetime, limit: int = 5000) -> int:
        """Delete up to `limit` sent or failed messages created before `created_before`."""
        async with self._session_factory() as session, session.begin():
            ids = (
                await session.scalars(
                    select(OutboxRow.id)
                    .where(OutboxRow.status.in_(_FINAL), OutboxRow.created_at < created_before)
                    .order_by(OutboxRow.id)
                    .limit(limit)
                )
            ).all()
            if ids:
                await session.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids)))
            return len(ids)

    async def redact_closed(self, last_changed_before: datetime, placeholder: str, limit: int = 500) -> int:
        """Redact the free texts of up to `limit` closed or cancelled orders untouched since the cutoff.

        An order already redacted carries `placeholder` as its text and is not taken again. Its
        `updated_at` is left alone: the statistics read it as the time of the last real change.
        """
        async with self._session_factory() as session, session.begin():
            ids = (
                await session.scalars(
                    select(WorkOrderRow.id)
                    .where(
                        WorkOrderRow.state.in_(_OVER),
                        WorkOrderRow.updated_at < last_changed_before,
                        WorkOrderRow.text != placeholder,
                    )
                    .order_by(WorkOrderRow.id)
                    .limit(limit)
                )
            ).all()
            await redact_orders(session, list(ids), placeholder)
            return len(ids)
