"""Broadcasts on the planning side: definitions, runs expanded into delivery rows, opt-outs, campaigns."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.broadcasts.model import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    Campaign,
    FinishedRun,
    RunCounts,
    Schedule,
    Topic,
)
from handlers.community.model import Role
from handlers.ports import Clock
from storage.models import (
    BroadcastDeliveryRow,
    BroadcastOptOutRow,
    BroadcastRow,
    BroadcastRunRow,
    BuildingRow,
    CampaignRow,
    LedgerEntryRow,
    PersonRow,
    ResidentRow,
)
from storage.upsert import insert_for

log = logging.getLogger(__name__)

_INSERT_CHUNK = 1_000  # rows per INSERT statement (SQLite caps bound parameters per statement)
OPEN_STATUSES = ("pending", "sending")


def _broadcast(row: BroadcastRow) -> Broadcast:
    return Broadcast(
        id=row.id,
        title=row.title,
        text=row.text,
        topic=Topic(row.topic),
        audience=Audience.from_json(row.audience),
        schedule=Schedule.from_json(row.schedule),
        status=BroadcastStatus(row.status),
        emergency=row.emergency,
        created_by=row.created_by,
        approved_by=row.approved_by,
        campaign_key=row.campaign_key,
        created_at=row.created_at,
        next_run_at=row.next_run_at,
    )


def _fill(row: BroadcastRow, b: Broadcast) -> None:
    row.title, row.text, row.topic = b.title, b.text, b.topic.value
    row.audience, row.schedule = b.audience.to_json(), b.schedule.to_json()
    row.status, row.emergency = b.status.value, b.emergency
    row.created_by, row.approved_by, row.campaign_key = b.created_by, b.approved_by, b.campaign_key
    row.next_run_at = b.next_run_at


def counts_from(by_status: dict[str, int]) -> RunCounts:
    return RunCounts(
        total=sum(by_status.values()),
        pending=by_status.get("pending", 0) + by_status.get("sending", 0),
        sent=by_status.get("sent", 0),
        failed=by_status.get("failed", 0),
        unreachable=by_status.get("unreachable", 0),
        cancelled=by_status.get("cancelled", 0),
    )


def _campaign(row: CampaignRow) -> Campaign:
    return Campaign(
        key=row.key,
        title=row.title,
        topic=Topic(row.topic),
        text=row.text,
        audience=Audience.from_json(row.audience) if row.audience else None,
        schedule=Schedule.from_json(row.schedule) if row.schedule else None,
    )


class SqlBroadcastRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def add(self, broadcast: Broadcast) -> Broadcast:
        row = BroadcastRow(created_at=broadcast.created_at or self._clock.now())
        _fill(row, broadcast)
        self._session.add(row)
        await self._session.flush()
        broadcast.id, broadcast.created_at = row.id, row.created_at
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        # Read to be changed (approve, pause, cancel): on PostgreSQL the row stays locked until commit, so
        # two people approving one draft at once plan it once (the second sees it approved).
        postgres = self._session.get_bind().dialect.name == "postgresql"
        row = await self._session.get(BroadcastRow, broadcast_id, with_for_update=postgres or None)
        return _broadcast(row) if row else None

    async def save(self, broadcast: Broadcast) -> None:
        row = await self._session.get(BroadcastRow, broadcast.id)
        assert row is not None
        _fill(row, broadcast)
        await self._session.flush()

    async def recent(self, limit: int = 20) -> list[Broadcast]:
        rows = await self._session.scalars(select(BroadcastRow).order_by(BroadcastRow.id.desc()).limit(limit))
        return [_broadcast(row) for row in rows]

    async def claim_due(self, now: datetime, limit: int = 10) -> list[Broadcast]:
        query = (
            select(BroadcastRow)
            .where(BroadcastRow.status == BroadcastStatus.APPROVED.value, BroadcastRow.next_run_at <= now)
            .order_by(BroadcastRow.emergency.desc(), BroadcastRow.next_run_at)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            # Two planners never expand the same broadcast; the loser skips it instead of waiting.
            query = query.with_for_update(skip_locked=True)
        return [_broadcast(row) for row in await self._session.scalars(query)]

    async def audience_chats(self, audience: Audience) -> list[int]:
        kind = audience.kind
        if kind is AudienceKind.ROLES:
            wanted = {Role(k) for k in audience.keys}
            rows = await self._session.scalars(select(PersonRow).where(PersonRow.active))
            # roles is a JSON list: filter here rather than with dialect-specific JSON operators.
            # Someone not joined yet (no chat id, issue 15) cannot be reached.
            return sorted(
                {
                    p.chat_id
                    for p in rows
                    if p.chat_id is not None and wanted.intersection(Role(r) for r in p.roles)
                }
            )
        if kind is AudienceKind.LEDGER:
            wanted_kinds = set(audience.keys)
            ledger = await self._session.execute(
                select(LedgerEntryRow.kinds, ResidentRow.chat_id)
                .join(ResidentRow, ResidentRow.id == LedgerEntryRow.resident_id)
                .where(LedgerEntryRow.consent != "pending")  # no separate consent yet: not reached
            )
            return sorted({chat for kinds, chat in ledger if wanted_kinds.intersection(kinds)})
        query = select(ResidentRow.chat_id).where(ResidentRow.consented_at.is_not(None))
        if kind is AudienceKind.BUILDINGS:
            query = query.where(ResidentRow.building_id.in_(audience.int_keys()))
        elif kind is AudienceKind.COMPOUNDS:
            buildings = select(BuildingRow.id).where(BuildingRow.compound_id.in_(audience.int_keys()))
            query = query.where(ResidentRow.building_id.in_(buildings))
        elif kind is AudienceKind.GRIDS:
            buildings = select(BuildingRow.id).where(BuildingRow.grid_id.in_(audience.int_keys()))
            query = query.where(ResidentRow.building_id.in_(buildings))
        return sorted(set(await self._session.scalars(query.order_by(ResidentRow.chat_id))))

    async def opted_out(self, topic: Topic, chat_ids: Collection[int]) -> set[int]:
        rows = await self._session.scalars(
            select(BroadcastOptOutRow.chat_id).where(BroadcastOptOutRow.topic == topic.value)
        )
        # Opt-outs are few: filtering in Python avoids an IN list as long as the audience.
        wanted = set(chat_ids)
        return {chat for chat in rows if chat in wanted}

    async def add_run(self, broadcast: Broadcast, fire_at: datetime, chat_ids: list[int]) -> int | None:
        assert broadcast.id is not None
        exists = await self._session.scalar(
            select(BroadcastRunRow.id).where(
                BroadcastRunRow.broadcast_id == broadcast.id, BroadcastRunRow.fire_at == fire_at
            )
        )
        if exists is not None:
            return None
        run = BroadcastRunRow(
            broadcast_id=broadcast.id,
            fire_at=fire_at,
            text=broadcast.text,
            total=len(chat_ids),
            state="sending",
            created_at=self._clock.now(),
        )
        self._session.add(run)
        await self._session.flush()
        rows = [
            {
                "run_id": run.id,
                "chat_id": chat,
                "priority": broadcast.priority,
                "status": "pending",
                "attempts": 0,
            }
            for chat in dict.fromkeys(chat_ids)
        ]
        for start in range(0, len(rows), _INSERT_CHUNK):
            await self._session.execute(insert(BroadcastDeliveryRow), rows[start : start + _INSERT_CHUNK])
        return run.id

    async def cancel_pending(self, broadcast_id: int) -> int:
        runs = select(BroadcastRunRow.id).where(BroadcastRunRow.broadcast_id == broadcast_id)
        # Only unclaimed rows: a claimed one may be in flight right now and its outcome is recorded as is.
        result = await self._session.execute(
            update(BroadcastDeliveryRow)
            .where(BroadcastDeliveryRow.run_id.in_(runs), BroadcastDeliveryRow.status == "pending")
            .values(status="cancelled")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult has rowcount

    async def counts(self, broadcast_id: int) -> RunCounts:
        runs = select(BroadcastRunRow.id).where(BroadcastRunRow.broadcast_id == broadcast_id)
        return await self._counts(BroadcastDeliveryRow.run_id.in_(runs))

    async def _counts(self, condition: Any) -> RunCounts:
        result = await self._session.execute(
            select(BroadcastDeliveryRow.status, func.count())
            .where(condition)
            .group_by(BroadcastDeliveryRow.status)
        )
        return counts_from({status: int(n) for status, n in result.all()})

    async def finished_runs(self, limit: int = 20) -> list[FinishedRun]:
        still_open = (
            select(BroadcastDeliveryRow.id)
            .where(
                BroadcastDeliveryRow.run_id == BroadcastRunRow.id,
                BroadcastDeliveryRow.status.in_(OPEN_STATUSES),
            )
            .exists()
        )
        query = (
            select(BroadcastRunRow)
            .where(BroadcastRunRow.state == "sending", ~still_open)
            .order_by(BroadcastRunRow.id)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        found = []
        for run in await self._session.scalars(query):
            run.state, run.finished_at = "done", self._clock.now()
            broadcast = await self._session.get(BroadcastRow, run.broadcast_id)
            assert broadcast is not None
            notify = await self._session.scalars(
                select(PersonRow.chat_id).where(
                    PersonRow.id.in_({p for p in (broadcast.created_by, broadcast.approved_by) if p})
                )
            )
            counts = await self._counts(BroadcastDeliveryRow.run_id == run.id)
            found.append(
                FinishedRun(
                    run.id, broadcast.id, broadcast.title, tuple(sorted({c for c in notify if c})), counts
                )
            )
        await self._session.flush()
        return found

    async def topics_off(self, chat_id: int) -> set[Topic]:
        rows = await self._session.scalars(
            select(BroadcastOptOutRow.topic).where(BroadcastOptOutRow.chat_id == chat_id)
        )
        return {Topic(t) for t in rows}

    async def set_topic(self, chat_id: int, topic: Topic, on: bool) -> None:
        if on:
            row = await self._session.get(BroadcastOptOutRow, (chat_id, topic.value))
            if row is not None:
                await self._session.delete(row)
        else:
            stmt = (
                insert_for(self._session, BroadcastOptOutRow.__table__)
                .values(chat_id=chat_id, topic=topic.value, since=self._clock.now())
                .on_conflict_do_nothing()
            )
            await self._session.execute(stmt)
        await self._session.flush()

    async def campaign(self, key: str) -> Campaign | None:
        row = await self._session.get(CampaignRow, key)
        return _campaign(row) if row else None

    async def campaigns(self) -> list[Campaign]:
        return [
            _campaign(row)
            for row in await self._session.scalars(select(CampaignRow).order_by(CampaignRow.key))
        ]

    async def save_campaign(self, campaign: Campaign) -> None:
        # One statement, insert or replace: replicas starting together all store the shipped library,
        # and a read-then-insert would have the second fail on the first one's key.
        values = {
            "title": campaign.title,
            "topic": campaign.topic.value,
            "text": campaign.text,
            "audience": campaign.audience.to_json() if campaign.audience else None,
            "schedule": campaign.schedule.to_json() if campaign.schedule else None,
            "updated_at": self._clock.now(),
        }
        statement = insert_for(self._session, CampaignRow.__table__).values(key=campaign.key, **values)
        await self._session.execute(statement.on_conflict_do_update(index_elements=["key"], set_=values))
