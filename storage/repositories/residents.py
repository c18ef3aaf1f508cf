"""Residents: who talks to the bot about their own home (one row per chat)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.community.model import Resident
from storage.bulk import chunks, update_by_key
from storage.chat_rows import ChatRows
from storage.models import (
    ResidentRow,
)
from storage.repositories.community import resident_from_row


class SqlResidentRepository:
    def __init__(self, session: AsyncSession, chat_rows: ChatRows | None = None) -> None:
        self._session = session
        self._chat_rows = chat_rows or ChatRows()

    async def by_chat(self, chat_id: int) -> Resident | None:
        # With the ledger entry and the conversation of that chat: the update reads them next.
        row = await self._chat_rows.load(self._session, chat_id)
        return resident_from_row(row) if row else None

    async def get(self, resident_id: int) -> Resident | None:
        row = await self._session.get(ResidentRow, resident_id)
        return resident_from_row(row) if row else None

    async def save(self, resident: Resident) -> Resident:
        row = await self._session.get(ResidentRow, resident.id) if resident.id is not None else None
        if row is None:
            row = ResidentRow(chat_id=resident.chat_id)
            self._session.add(row)
        _fill_resident(row, resident)
        await self._session.flush()
        resident.id = row.id
        return resident

    async def by_chats(self, chat_ids: Collection[int]) -> dict[int, Resident]:
        found: dict[int, Resident] = {}
        for chunk in chunks(list(chat_ids)):
            # Plain rows, not ORM objects: the same attribute names without per-object bookkeeping.
            rows = await self._session.execute(select(*_RESIDENTS.c).where(_RESIDENTS.c.chat_id.in_(chunk)))
            found.update((row.chat_id, resident_from_row(cast(ResidentRow, row))) for row in rows)
        return found

    async def save_many(self, residents: list[Resident]) -> None:
        await self._session.flush()  # what the session holds goes first
        known = [{"id": r.id, **_resident_values(r)} for r in residents if r.id is not None]
        new = [r for r in residents if r.id is None]
        for chunk in chunks(new):
            values = [{"chat_id": r.chat_id, **_resident_values(r)} for r in chunk]
            returned = await self._session.execute(
                insert(_RESIDENTS).returning(_RESIDENTS.c.id, _RESIDENTS.c.chat_id), values
            )
            new_ids = {chat_id: row_id for row_id, chat_id in returned}
            for resident in chunk:
                resident.id = new_ids[resident.chat_id]
        await update_by_key(self._session, _RESIDENTS, "id", known)


_RESIDENTS = cast(Table, ResidentRow.__table__)  # bulk statements work on the table (storage/bulk.py)
_RESIDENT_FIELDS = (
    "name",
    "consented_at",
    "building_id",
    "unit",
    "room",
    "phone",
    "phone_consent",
    "checkin",
)


def _resident_values(resident: Resident) -> dict[str, Any]:
    return {key: getattr(resident, key) for key in _RESIDENT_FIELDS}


def _fill_resident(row: ResidentRow, resident: Resident) -> None:
    for key, value in _resident_values(resident).items():
        setattr(row, key, value)
