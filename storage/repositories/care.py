"""The vulnerable-resident ledger and daily check-ins on SQL."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.care.model import Checkin, CheckinAnswer, Consent, LedgerEntry, Vulnerability
from handlers.community.model import Resident
from storage.bulk import chunks
from storage.chat_rows import ChatRows
from storage.models import BuildingRow, CheckinRow, LedgerEntryRow, ResidentRow
from storage.repositories.community import resident_from_row
from storage.upsert import insert_for


def _entry(row: LedgerEntryRow) -> LedgerEntry:
    return LedgerEntry(
        resident_id=row.resident_id,
        kinds=frozenset(Vulnerability(k) for k in row.kinds),
        consent=Consent(row.consent),
        registered_by=row.registered_by,
        registered_at=row.registered_at,
        consent_at=row.consent_at,
        note=row.note,
    )


_ENTRIES = cast(Table, LedgerEntryRow.__table__)  # bulk statements work on the table (storage/bulk.py)


_ENTRY_FIELDS = ("kinds", "consent", "consent_at", "note", "registered_by", "registered_at")


def _entry_values(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "kinds": sorted(k.value for k in entry.kinds),
        "consent": entry.consent.value,
        "consent_at": entry.consent_at,
        "note": entry.note,
        "registered_by": entry.registered_by,
        "registered_at": entry.registered_at,
    }


class SqlLedgerRepository:
    def __init__(self, session: AsyncSession, chat_rows: ChatRows | None = None) -> None:
        self._session = session
        self._loaded = (chat_rows or ChatRows()).ledger  # with the update's chat: entries or None, no query

    async def get(self, resident_id: int) -> LedgerEntry | None:
        if resident_id in self._loaded:
            loaded = self._loaded[resident_id]
            return _entry(cast(LedgerEntryRow, loaded)) if loaded is not None else None
        row = await self._session.get(LedgerEntryRow, resident_id)
        return _entry(row) if row else None

    async def save(self, entry: LedgerEntry) -> None:
        self._loaded.pop(entry.resident_id, None)  # read from the session from now on
        row = await self._session.get(LedgerEntryRow, entry.resident_id)
        if row is None:
            row = LedgerEntryRow(resident_id=entry.resident_id)
            self._session.add(row)
        for key, value in _entry_values(entry).items():
            setattr(row, key, value)
        await self._session.flush()

    async def get_many(self, resident_ids: Collection[int]) -> dict[int, LedgerEntry]:
        found: dict[int, LedgerEntry] = {}
        for chunk in chunks(list(resident_ids)):
            # Plain rows, not ORM objects: the same attribute names without per-object bookkeeping.
            rows = await self._session.execute(select(*_ENTRIES.c).where(_ENTRIES.c.resident_id.in_(chunk)))
            found.update((row.resident_id, _entry(cast(LedgerEntryRow, row))) for row in rows)
        return found

    async def save_many(self, entries: list[LedgerEntry]) -> None:
        # INSERT ... ON CONFLICT DO UPDATE, one executemany per batch: new and known entries alike, no lookup.
        for entry in entries:
            self._loaded.pop(entry.resident_id, None)
        await self._session.flush()  # what the session holds goes first
        statement = insert_for(self._session, _ENTRIES)
        statement = statement.on_conflict_do_update(
            index_elements=[_ENTRIES.c.resident_id],
            set_={name: statement.excluded[name] for name in _ENTRY_FIELDS},
        )
        rows = [{"resident_id": e.resident_id, **_entry_values(e)} for e in entries]
        for chunk in chunks(rows):
            await self._session.execute(statement, list(chunk))

    async def remove(self, resident_id: int) -> None:
        self._loaded[resident_id] = None
        row = await self._session.get(LedgerEntryRow, resident_id)
        if row is not None:
            await self._session.delete(row)
            await self._session.flush()

    async def entries(self, grid_id: int | None = None) -> list[tuple[LedgerEntry, Resident]]:
        query = select(LedgerEntryRow, ResidentRow).join(
            ResidentRow, ResidentRow.id == LedgerEntryRow.resident_id
        )
        if grid_id is not None:
            query = query.join(BuildingRow, BuildingRow.id == ResidentRow.building_id).where(
                BuildingRow.grid_id == grid_id
            )
        rows = await self._session.execute(query.order_by(ResidentRow.id))
        return [(_entry(entry), resident_from_row(resident)) for entry, resident in rows]


def _checkin(row: CheckinRow) -> Checkin:
    return Checkin(
        id=row.id,
        resident_id=row.resident_id,
        day=row.day,
        asked_at=row.asked_at,
        answered_at=row.answered_at,
        answer=CheckinAnswer(row.answer) if row.answer else None,
        alerted_at=row.alerted_at,
        escalated_at=row.escalated_at,
        alerted_people=list(row.alerted_people or ()),
    )


class SqlCheckinRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def residents_to_ask(self, day: date) -> list[Resident]:
        asked = select(CheckinRow.resident_id).where(CheckinRow.day == day)
        rows = await self._session.scalars(
            select(ResidentRow)
            .where(ResidentRow.checkin, ResidentRow.id.not_in(asked))
            .order_by(ResidentRow.id)
        )
        return [resident_from_row(row) for row in rows]

    async def add(self, checkin: Checkin) -> Checkin | None:
        # The unique (resident, day) key decides which replica asks: the other's insert does nothing.
        table = CheckinRow.__table__
        stmt = (
            insert_for(self._session, table)
            .values(
                resident_id=checkin.resident_id, day=checkin.day, asked_at=checkin.asked_at, alerted_people=[]
            )
            .on_conflict_do_nothing()
            .returning(table.c.id)
        )
        new_id = (await self._session.execute(stmt)).scalar()
        if new_id is None:
            return None
        checkin.id = int(new_id)
        return checkin

    async def get(self, checkin_id: int) -> Checkin | None:
        row = await self._session.get(CheckinRow, checkin_id)
        return _checkin(row) if row else None

    async def save(self, checkin: Checkin) -> None:
        row = await self._session.get(CheckinRow, checkin.id)
        assert row is not None
        row.answered_at, row.answer = checkin.answered_at, checkin.answer.value if checkin.answer else None
        row.alerted_at, row.escalated_at = checkin.alerted_at, checkin.escalated_at
        row.alerted_people = list(checkin.alerted_people)
        await self._session.flush()

    async def latest(self, resident_ids: Collection[int]) -> dict[int, Checkin]:
        newest = (
            select(func.max(CheckinRow.id))
            .where(CheckinRow.resident_id.in_(sorted(resident_ids)))
            .group_by(CheckinRow.resident_id)
        )
        rows = await self._session.scalars(select(CheckinRow).where(CheckinRow.id.in_(newest)))
        return {row.resident_id: _checkin(row) for row in rows}

    async def claim_unanswered(self, asked_before: datetime, alerted_before: datetime) -> list[Checkin]:
        due = and_(
            CheckinRow.answered_at.is_(None),
            or_(
                and_(CheckinRow.alerted_at.is_(None), CheckinRow.asked_at <= asked_before),
                and_(
                    CheckinRow.alerted_at.is_not(None),
                    CheckinRow.escalated_at.is_(None),
                    CheckinRow.alerted_at <= alerted_before,
                ),
            ),
        )
        query = select(CheckinRow).where(due).order_by(CheckinRow.id).limit(100)
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [_checkin(row) for row in await self._session.scalars(query)]
