"""In-memory ledger and daily check-ins."""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import replace
from datetime import date, datetime

from handlers.care.model import Checkin, LedgerEntry
from handlers.community.model import Resident
from tests.fakes.store import FakeStore


class FakeLedger:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def get(self, resident_id: int) -> LedgerEntry | None:
        found = self.s.ledger.get(resident_id)
        return copy.deepcopy(found) if found else None

    async def save(self, entry: LedgerEntry) -> None:
        self.s.ledger[entry.resident_id] = copy.deepcopy(entry)

    async def remove(self, resident_id: int) -> None:
        self.s.ledger.pop(resident_id, None)

    async def get_many(self, resident_ids: Collection[int]) -> dict[int, LedgerEntry]:
        return {i: copy.deepcopy(self.s.ledger[i]) for i in resident_ids if i in self.s.ledger}

    async def save_many(self, entries: list[LedgerEntry]) -> None:
        for entry in entries:
            await self.save(entry)

    async def entries(self, grid_id: int | None = None) -> list[tuple[LedgerEntry, Resident]]:
        result = []
        for entry in self.s.ledger.values():
            resident = self.s.residents[entry.resident_id]
            in_grid = (
                resident.building_id is not None and self.s.building_grid.get(resident.building_id) == grid_id
            )
            if grid_id is None or in_grid:
                result.append((copy.deepcopy(entry), replace(resident)))
        return result


class FakeCheckins:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def residents_to_ask(self, day: date) -> list[Resident]:
        asked = {c.resident_id for c in self.s.checkins.values() if c.day == day}
        return [replace(r) for r in self.s.residents.values() if r.checkin and r.id not in asked]

    async def add(self, checkin: Checkin) -> Checkin | None:
        if any(
            c.resident_id == checkin.resident_id and c.day == checkin.day for c in self.s.checkins.values()
        ):
            return None
        checkin.id = self.s.new_id()
        self.s.checkins[checkin.id] = copy.deepcopy(checkin)
        return checkin

    async def get(self, checkin_id: int) -> Checkin | None:
        found = self.s.checkins.get(checkin_id)
        return copy.deepcopy(found) if found else None

    async def save(self, checkin: Checkin) -> None:
        assert checkin.id is not None
        self.s.checkins[checkin.id] = copy.deepcopy(checkin)

    async def latest(self, resident_ids: Collection[int]) -> dict[int, Checkin]:
        found: dict[int, Checkin] = {}
        for c in sorted(self.s.checkins.values(), key=lambda c: c.id or 0):
            if c.resident_id in resident_ids:
                found[c.resident_id] = copy.deepcopy(c)
        return found

    async def claim_unanswered(self, asked_before: datetime, alerted_before: datetime) -> list[Checkin]:
        due = [
            c
            for c in self.s.checkins.values()
            if c.answered_at is None
            and (
                (c.alerted_at is None and c.asked_at <= asked_before)
                or (c.alerted_at is not None and c.escalated_at is None and c.alerted_at <= alerted_before)
            )
        ]
        return [copy.deepcopy(c) for c in due]
