"""In-memory community structure and residents."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime

from handlers.community.model import (
    Building,
    Compound,
    DutyHours,
    Grid,
    Invite,
    Invitee,
    Person,
    Resident,
    Role,
)
from handlers.community.settings import CommunitySettings, CommunitySpec
from nlp.types import Category
from tests.fakes.store import FakeStore


class FakeCommunity:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def person_by_chat(self, chat_id: int) -> Person | None:
        return next((p for p in self.s.people.values() if p.chat_id == chat_id), None)

    async def person(self, person_id: int) -> Person | None:
        return self.s.people.get(person_id)

    async def people(self, role: Role | None = None, grid_id: int | None = None) -> list[Person]:
        return [
            p
            for p in sorted(self.s.people.values(), key=lambda p: p.id)
            if (role is None or role in p.roles) and (grid_id is None or p.grid_id == grid_id)
        ]

    async def compounds(self) -> list[Compound]:
        return list(self.s.compounds.values())

    async def compound(self, compound_id: int) -> Compound | None:
        return self.s.compounds.get(compound_id)

    async def compound_by_name(self, name: str) -> Compound | None:
        return next((c for c in self.s.compounds.values() if name == c.name or name in c.aliases), None)

    async def buildings(self, compound_id: int) -> list[Building]:
        return [b for b in self.s.buildings.values() if b.compound_id == compound_id]

    async def building(self, building_id: int) -> Building | None:
        return self.s.buildings.get(building_id)

    async def find_building(self, compound_id: int, number: str) -> Building | None:
        return next(
            (b for b in self.s.buildings.values() if b.compound_id == compound_id and b.number == number),
            None,
        )

    async def grid(self, grid_id: int) -> Grid | None:
        return self.s.grids.get(grid_id)

    async def grid_for_building(self, building_id: int) -> Grid | None:
        grid_id = self.s.building_grid.get(building_id)
        return self.s.grids.get(grid_id) if grid_id is not None else None

    async def grids(self) -> list[Grid]:
        return list(self.s.grids.values())

    async def category_roles(self, category: Category) -> tuple[Role, ...]:
        return self.s.routes.get(category, ())

    async def settings(self) -> CommunitySettings:
        return self.s.settings

    async def set_leave(self, person_id: int, on_leave: bool) -> None:
        self.s.people[person_id] = replace(self.s.people[person_id], on_leave=on_leave)

    async def set_duty(self, person_id: int, duty: DutyHours | None) -> None:
        self.s.people[person_id] = replace(self.s.people[person_id], duty=duty)

    async def invitee(self, name: str) -> Invitee | None:
        for joined, people in ((True, self.s.people), (False, self.s.waiting)):
            found = next((p for p in people.values() if p.name == name), None)
            if found is not None:
                return Invitee(found.id, found.name, joined)
        return None

    async def add_invite(self, invite: Invite) -> None:
        self.s.invites[invite.code_hash] = invite

    async def invite(self, code_hash: str) -> Invite | None:
        return self.s.invites.get(code_hash)

    async def use_invite(self, code_hash: str, at: datetime) -> bool:
        invite = self.s.invites.get(code_hash)
        if invite is None or invite.used_at is not None:
            return False
        self.s.invites[code_hash] = replace(invite, used_at=at)
        return True

    async def bind_chat(self, person_id: int, chat_id: int) -> None:
        person = self.s.waiting.pop(person_id, None) or self.s.people[person_id]
        self.s.people[person_id] = replace(person, chat_id=chat_id)

    async def spec(self) -> CommunitySpec:
        assert self.s.spec is not None, "apply a spec first"
        return self.s.spec

    async def apply(self, spec: CommunitySpec, now: datetime | None = None) -> None:
        s = self.s
        s.spec = spec
        by_name: dict[str, Compound] = {}
        for c in spec.compounds:
            compound = Compound(s.new_id(), c.name, c.aliases)
            s.compounds[compound.id] = by_name[c.name] = compound
            for b in c.buildings:
                building = Building(s.new_id(), compound.id, compound.name, b.number, b.units)
                s.buildings[building.id] = building
        grid_ids: dict[str, int] = {}
        for g in spec.grids:
            grid_ids[g.name] = s.new_id()
        person_ids: dict[str, int] = {}
        for p in spec.people:
            grid_id = grid_ids.get(p.grid) if p.grid else None
            person = Person(s.new_id(), p.name, p.chat_id or 0, p.roles, grid_id, duty=p.duty)
            (s.people if p.chat_id is not None else s.waiting)[person.id] = person
            person_ids[p.name] = person.id
        for p in spec.people:
            if p.deputy:
                pid = person_ids[p.name]
                held = s.people if pid in s.people else s.waiting
                held[pid] = replace(held[pid], deputy_id=person_ids[p.deputy])
        s.settings = spec.settings
        for g in spec.grids:
            leader = person_ids.get(g.leader) if g.leader else None
            s.grids[grid_ids[g.name]] = Grid(grid_ids[g.name], g.name, leader, g.group_chat_id)
            for compound_name, number in g.buildings:
                building = await self.find_building(by_name[compound_name].id, number)
                assert building is not None
                s.building_grid[building.id] = grid_ids[g.name]
        s.routes = dict(spec.routing)
        for r in spec.residents:
            building_id = None
            if r.compound and r.building:
                found = await self.find_building(by_name[r.compound].id, r.building)
                building_id = found.id if found else None
            rid = s.new_id()
            consented = (now or datetime.now(UTC)) if r.consented else None
            s.residents[rid] = Resident(rid, r.chat_id, r.name, consented, building_id, r.unit, r.room)


class FakeResidents:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def by_chat(self, chat_id: int) -> Resident | None:
        found = next((r for r in self.s.residents.values() if r.chat_id == chat_id), None)
        return replace(found) if found else None

    async def get(self, resident_id: int) -> Resident | None:
        found = self.s.residents.get(resident_id)
        return replace(found) if found else None

    async def save(self, resident: Resident) -> Resident:
        if resident.id is None:
            resident.id = self.s.new_id()
        self.s.residents[resident.id] = replace(resident)
        return resident

    async def by_chats(self, chat_ids: Collection[int]) -> dict[int, Resident]:
        wanted = set(chat_ids)
        return {r.chat_id: replace(r) for r in self.s.residents.values() if r.chat_id in wanted}

    async def save_many(self, residents: list[Resident]) -> None:
        for resident in residents:
            await self.save(resident)
