"""Keep personal data only as long as it is needed: sent messages are deleted after some days, the free
texts of closed orders are redacted after a longer retention (bot/schedule/retention.py ticks them).

Each call does a bounded batch in its own transaction, so a first run over years of history neither
holds locks for long nor grows one transaction without limit; the next tick continues.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OVER_STATES, OutboxRow, WorkOrderRow
from storage.repositories.privacy import redact_orders
from storage.repositories.workorders import in_literals

_FINAL = ("sent", "failed")  # outbox rows nobody will send again


def to_redact(last_changed_before: datetime, limit: int) -> Select[Any]:
    """Closed, then cancelled, orders not redacted yet, oldest change first: ix_work_orders_to_redact, read
    in its order."""
    return (
        select(WorkOrderRow.id)
        .where(
            in_literals(WorkOrderRow.state, OVER_STATES),  # the index's predicate, written as literals
            WorkOrderRow.redacted_at.is_(None),
            WorkOrderRow.updated_at < last_changed_before,
        )
        # The index's own order: ordered by updated_at alone, PostgreSQL sorted every match (77 ms for a
        # backlog of 33,000 at 100,000 orders; 0.9 ms now).
        .order_by(WorkOrderRow.state, WorkOrderRow.updated_at)
        .limit(limit)
    )


class SqlRetention:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def prune_sent(self, created_before: datetime, limit: int = 5000) -> int:
        """Delete up to `limit` sent or failed messages created before `created_before`.

        The search stops at the first message written at or after the cutoff (ids follow the time rows are
        written): it read every retained message on each tick, 65 ms at 300,000 on SQLite with the bot's
        loop held, 35 ms on PostgreSQL. A row out of that order (another replica's clock a little behind)
        is taken by a later tick; none is ever deleted before its time.
        """
        async with self._session_factory() as session, session.begin():
            first_young = await session.scalar(
                select(OutboxRow.id)
                .where(OutboxRow.created_at >= created_before)
                .order_by(OutboxRow.id)
                .limit(1)
            )
            due = select(OutboxRow.id).where(
                OutboxRow.status.in_(_FINAL), OutboxRow.created_at < created_before
            )
            if first_young is not None:
                due = due.where(OutboxRow.id < first_young)
            ids = (await session.scalars(due.order_by(OutboxRow.id).limit(limit))).all()
            if ids:
                await session.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids)))
            return len(ids)

    async def redact_closed(
        self, last_changed_before: datetime, placeholder: str, now: datetime, limit: int = 500
    ) -> int:
        """Redact the free texts of up to `limit` closed or cancelled orders untouched since the cutoff.

        An order already redacted has `redacted_at` set and is not taken again; the partial index of
        migration 0021 holds only those not yet redacted, so the tick never walks the redacted history (it
        read and sorted every closed order: 140-190 ms at 100,000 orders, the bot's loop held). Its
        `updated_at` is left alone: the statistics read it as the time of the last real change.
        """
        async with self._session_factory() as session, session.begin():
            ids = (await session.scalars(to_redact(last_changed_before, limit))).all()
            await redact_orders(session, list(ids), placeholder, now)
            return len(ids)
