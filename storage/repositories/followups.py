"""The 回访 list (storage/models/followups.py): orders closed unrated, pending until staff phone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.followups import FollowupRow


class SqlFollowupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, order_id: int, closed_at: datetime) -> None:
        if await self._session.get(FollowupRow, order_id) is None:
            self._session.add(FollowupRow(order_id=order_id, closed_at=closed_at))
            await self._session.flush()

    async def pending(self, after: int = 0, limit: int = 10) -> list[int]:
        query = (
            select(FollowupRow.order_id)
            .where(FollowupRow.done_at.is_(None), FollowupRow.order_id > after)
            .order_by(FollowupRow.order_id)
            .limit(limit)
        )
        return list((await self._session.scalars(query)).all())

    async def pending_count(self) -> int:
        query = select(func.count()).select_from(FollowupRow).where(FollowupRow.done_at.is_(None))
        return int(await self._session.scalar(query) or 0)

    async def done(self, order_id: int, at: datetime, person_id: int | None, result: str) -> bool:
        # One statement, conditional on still pending: two staff recording the same call, one wins.
        outcome = await self._session.execute(
            update(FollowupRow)
            .where(FollowupRow.order_id == order_id, FollowupRow.done_at.is_(None))
            .values(done_at=at, done_by=person_id, result=result)
        )
        return bool(getattr(outcome, "rowcount", 0))
