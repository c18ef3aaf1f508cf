"""Residents: who talks to the bot about their own home (one row per chat)."""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
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
        return resident_from_row(cast(ResidentRow, row)) if row else None

    async def get(self, resident_id: int) -> Resident | None:
        row = (await self._session.execute(_BY_ID, {"p_id": resident_id})).first()
        return resident_from_row(cast(ResidentRow, row)) if row else None

    async def save(self, resident: Resident) -> Resident:
        """Insert a new resident, or write what changed of a stored one (as the ORM's flush did: a column
        someone else changed meanwhile, e.g. the address on the desk, is not written back)."""
        values = _resident_values(resident)
        stored = self._chat_rows.residents
        if resident.id is not None and resident.id not in stored:
            row = (await self._session.execute(_BY_ID, {"p_id": resident.id})).first()
            if row is not None:
                stored[resident.id] = dict(row._mapping)
        before = stored.get(resident.id) if resident.id is not None else None
        if before is None:  # new, or gone meanwhile: a row of its own
            inserted = await self._session.execute(_INSERT, {"chat_id": resident.chat_id, **values})
            resident.id = int(inserted.scalar_one())
        else:
            changed = tuple(key for key in _RESIDENT_FIELDS if before[key] != values[key])
            if changed:
                changes = {f"v_{key}": values[key] for key in changed}
                await self._session.execute(_update(changed), {"p_id": resident.id, **changes})
        assert resident.id is not None
        stored[resident.id] = {"id": resident.id, "chat_id": resident.chat_id, **values}
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


# A resident's statements, built once (an update saves a resident: a report after consent, registration);
# on the table, without the ORM's unit of work (a flush cost more CPU than the INSERT it wrote).
_BY_ID = select(*_RESIDENTS.c).where(_RESIDENTS.c.id == bindparam("p_id"))
_INSERT = insert(_RESIDENTS).returning(_RESIDENTS.c.id)


@lru_cache(maxsize=64)
def _update(columns: tuple[str, ...]) -> Any:
    """UPDATE of these columns of one resident (by p_id); parameters v_<column>."""
    return (
        update(_RESIDENTS)
        .where(_RESIDENTS.c.id == bindparam("p_id"))
        .values({key: bindparam(f"v_{key}", type_=_RESIDENTS.c[key].type) for key in columns})
    )
