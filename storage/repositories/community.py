"""The community structure: compounds, buildings, grids, people, category routes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.community.model import Building, Compound, Grid, Invite, Invitee, Person, Resident, Role
from handlers.community.settings import (
    BuildingSpec,
    CommunitySettings,
    CommunitySpec,
    CompoundSpec,
    GridSpec,
    PersonSpec,
)
from nlp.types import Category
from storage.models import (
    BuildingRow,
    CategoryRouteRow,
    CommunitySettingsRow,
    CompoundRow,
    GridRow,
    InviteRow,
    PersonRow,
    ResidentRow,
)
from storage.settings_codec import duty_from_json, duty_to_json, settings_from_json, settings_to_json


def _person(row: PersonRow) -> Person:
    assert row.chat_id is not None  # only people who joined are read as Person (_JOINED)
    return Person(
        id=row.id,
        name=row.name,
        chat_id=row.chat_id,
        roles=frozenset(Role(r) for r in row.roles),
        grid_id=row.grid_id,
        deputy_id=row.deputy_id,
        on_leave=row.on_leave,
        duty=duty_from_json(row.duty),
    )


# Active and joined: someone listed without a chat id takes no part until their invite binds one.
_JOINED = (PersonRow.active, PersonRow.chat_id.is_not(None))


def _invite(row: InviteRow) -> Invite:
    return Invite(
        code_hash=row.code_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        person_id=row.person_id,
        resident_name=row.resident_name,
        used_at=row.used_at,
    )


def _compound(row: CompoundRow) -> Compound:
    return Compound(
        id=row.id,
        name=row.name,
        aliases=tuple(row.aliases or ()),
        latitude=row.latitude,
        longitude=row.longitude,
    )


def _grid(row: GridRow) -> Grid:
    return Grid(id=row.id, name=row.name, leader_id=row.leader_id, group_chat_id=row.group_chat_id)


class SqlCommunityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._settings: CommunitySettings | None = None  # read once per unit of work
        # The structure does not change within a unit of work (only `apply` changes it, and clears these):
        # one report asks for its building, compound and grid several times. The session's identity map
        # holds rows only weakly, so without these each ask would be another query.
        self._compounds: dict[int, Compound | None] = {}
        self._buildings: dict[int, Building | None] = {}
        self._grids: dict[int, Grid | None] = {}
        self._routes: dict[Category, tuple[Role, ...]] = {}

    async def person_by_chat(self, chat_id: int) -> Person | None:
        row = await self._session.scalar(
            select(PersonRow).where(PersonRow.chat_id == chat_id, PersonRow.active)
        )
        return _person(row) if row else None

    async def person(self, person_id: int) -> Person | None:
        row = await self._session.get(PersonRow, person_id)
        return _person(row) if row and row.active and row.chat_id is not None else None

    async def people(self, role: Role | None = None, grid_id: int | None = None) -> list[Person]:
        query = select(PersonRow).where(*_JOINED).order_by(PersonRow.id)
        if grid_id is not None:
            query = query.where(PersonRow.grid_id == grid_id)
        people = [_person(row) for row in await self._session.scalars(query)]
        # roles is a JSON list: filter here rather than with dialect-specific JSON operators (the table is small).
        return [p for p in people if role is None or role in p.roles]

    async def compounds(self) -> list[Compound]:
        rows = await self._session.scalars(select(CompoundRow).order_by(CompoundRow.id))
        return [_compound(row) for row in rows]

    async def compound(self, compound_id: int) -> Compound | None:
        if compound_id not in self._compounds:
            row = await self._session.get(CompoundRow, compound_id)
            self._compounds[compound_id] = _compound(row) if row else None
        return self._compounds[compound_id]

    async def compound_by_name(self, name: str) -> Compound | None:
        row = await self._session.scalar(select(CompoundRow).where(CompoundRow.name == name))
        if row is not None:
            return _compound(row)
        for compound in await self.compounds():
            if name in compound.aliases:
                return compound
        return None

    async def _building(self, row: BuildingRow) -> Building:
        compound = await self.compound(row.compound_id)
        assert compound is not None
        building = Building(
            id=row.id,
            compound_id=row.compound_id,
            compound_name=compound.name,
            number=row.number,
            units=row.units,
        )
        self._buildings[row.id] = building
        return building

    async def buildings(self, compound_id: int) -> list[Building]:
        rows = await self._session.scalars(select(BuildingRow).where(BuildingRow.compound_id == compound_id))
        buildings = [await self._building(row) for row in rows]
        return sorted(buildings, key=lambda b: (len(b.number), b.number))

    async def building(self, building_id: int) -> Building | None:
        if building_id not in self._buildings:
            row = await self._session.get(BuildingRow, building_id)
            self._buildings[building_id] = await self._building(row) if row else None
        return self._buildings[building_id]

    async def find_building(self, compound_id: int, number: str) -> Building | None:
        row = await self._session.scalar(
            select(BuildingRow).where(BuildingRow.compound_id == compound_id, BuildingRow.number == number)
        )
        return await self._building(row) if row else None

    async def grid(self, grid_id: int) -> Grid | None:
        if grid_id not in self._grids:
            row = await self._session.get(GridRow, grid_id)
            self._grids[grid_id] = _grid(row) if row else None
        return self._grids[grid_id]

    async def grid_for_building(self, building_id: int) -> Grid | None:
        grid_id = await self._session.scalar(select(BuildingRow.grid_id).where(BuildingRow.id == building_id))
        return await self.grid(grid_id) if grid_id is not None else None

    async def grids(self) -> list[Grid]:
        return [_grid(row) for row in await self._session.scalars(select(GridRow).order_by(GridRow.id))]

    async def category_roles(self, category: Category) -> tuple[Role, ...]:
        if category not in self._routes:
            row = await self._session.get(CategoryRouteRow, category.value)
            # several roles are stored comma-separated: the first takes the order, the others are told
            self._routes[category] = tuple(Role(r) for r in row.role.split(",")) if row else ()
        return self._routes[category]

    async def settings(self) -> CommunitySettings:
        if self._settings is None:
            row = await self._session.get(CommunitySettingsRow, 1)
            self._settings = settings_from_json(row.data) if row else CommunitySettings()
        return self._settings

    async def set_leave(self, person_id: int, on_leave: bool) -> None:
        row = await self._session.get(PersonRow, person_id)
        if row is not None:
            row.on_leave = on_leave
            await self._session.flush()

    async def invitee(self, name: str) -> Invitee | None:
        row = await self._session.scalar(
            select(PersonRow).where(PersonRow.active, PersonRow.name == name).order_by(PersonRow.id).limit(1)
        )
        return Invitee(row.id, row.name, row.chat_id is not None) if row else None

    async def add_invite(self, invite: Invite) -> None:
        self._session.add(
            InviteRow(
                code_hash=invite.code_hash,
                person_id=invite.person_id,
                resident_name=invite.resident_name,
                created_at=invite.created_at,
                expires_at=invite.expires_at,
            )
        )
        await self._session.flush()

    async def invite(self, code_hash: str) -> Invite | None:
        row = await self._session.get(InviteRow, code_hash)
        return _invite(row) if row else None

    async def use_invite(self, code_hash: str, at: datetime) -> bool:
        # One statement with the condition: of two chats opening the same link at once, one wins.
        result = await self._session.execute(
            update(InviteRow)
            .where(InviteRow.code_hash == code_hash, InviteRow.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def bind_chat(self, person_id: int, chat_id: int) -> None:
        # Someone no longer in the structure may have used this chat: it is this person's now (chat ids
        # are unique). The use case has already refused a chat that an active person holds.
        await self._session.execute(
            update(PersonRow)
            .where(PersonRow.chat_id == chat_id, PersonRow.id != person_id)
            .values(chat_id=None)
            .execution_options(synchronize_session=False)
        )
        row = await self._session.get(PersonRow, person_id)
        if row is not None:
            row.chat_id = chat_id
            await self._session.flush()

    async def spec(self) -> CommunitySpec:
        """The stored structure as the community file describes it (active people, joined or not)."""
        s = self._session
        compounds = list(await s.scalars(select(CompoundRow).order_by(CompoundRow.id)))
        buildings = list(await s.scalars(select(BuildingRow).order_by(BuildingRow.id)))
        grids = list(await s.scalars(select(GridRow).order_by(GridRow.id)))
        people = list(await s.scalars(select(PersonRow).where(PersonRow.active).order_by(PersonRow.id)))
        compound_name = {c.id: c.name for c in compounds}
        grid_name = {g.id: g.name for g in grids}
        person_name = {p.id: p.name for p in people}
        routes = {r.category: r.role for r in await s.scalars(select(CategoryRouteRow))}
        return CommunitySpec(
            name="",  # not stored: the file's `community.name` is for people reading it
            compounds=tuple(
                CompoundSpec(
                    name=c.name,
                    aliases=tuple(c.aliases or ()),
                    buildings=tuple(
                        BuildingSpec(b.number, b.units) for b in buildings if b.compound_id == c.id
                    ),
                    latitude=c.latitude,
                    longitude=c.longitude,
                )
                for c in compounds
            ),
            grids=tuple(
                GridSpec(
                    name=g.name,
                    buildings=tuple(
                        (compound_name[b.compound_id], b.number) for b in buildings if b.grid_id == g.id
                    ),
                    leader=person_name.get(g.leader_id) if g.leader_id is not None else None,
                    group_chat_id=g.group_chat_id,
                )
                for g in grids
            ),
            people=tuple(
                PersonSpec(
                    name=p.name,
                    chat_id=p.chat_id,
                    roles=frozenset(Role(r) for r in p.roles),
                    grid=grid_name.get(p.grid_id) if p.grid_id is not None else None,
                    phone=p.phone,
                    deputy=person_name.get(p.deputy_id) if p.deputy_id is not None else None,
                    duty=duty_from_json(p.duty),
                )
                for p in people
            ),
            routing={Category(k): tuple(Role(r) for r in v.split(",")) for k, v in routes.items()},
            settings=await self.settings(),
        )

    async def apply(self, spec: CommunitySpec, now: datetime | None = None) -> None:
        """Sync the stored structure with `spec`, keeping ids that work orders already point to."""
        s = self._session
        now = now or datetime.now(UTC)
        compounds = {row.name: row for row in await s.scalars(select(CompoundRow))}
        for c in spec.compounds:
            compound_row = compounds.get(c.name) or CompoundRow(name=c.name)
            compound_row.aliases = list(c.aliases)
            compound_row.latitude, compound_row.longitude = c.latitude, c.longitude
            s.add(compound_row)
            compounds[c.name] = compound_row
        await s.flush()
        buildings = {(row.compound_id, row.number): row for row in await s.scalars(select(BuildingRow))}
        for c in spec.compounds:
            for b in c.buildings:
                key = (compounds[c.name].id, b.number)
                building_row = buildings.get(key) or BuildingRow(compound_id=key[0], number=b.number)
                building_row.units, building_row.grid_id = b.units, None
                s.add(building_row)
                buildings[key] = building_row
        grids = {row.name: row for row in await s.scalars(select(GridRow))}
        for g in spec.grids:
            grid_row = grids.get(g.name) or GridRow(name=g.name)
            grid_row.group_chat_id, grid_row.leader_id = g.group_chat_id, None
            s.add(grid_row)
            grids[g.name] = grid_row
        await s.flush()
        for g in spec.grids:
            for compound_name, number in g.buildings:
                buildings[(compounds[compound_name].id, number)].grid_id = grids[g.name].id
        await s.execute(update(PersonRow).values(active=False))
        stored = list(await s.scalars(select(PersonRow).order_by(PersonRow.id)))
        people = {row.chat_id: row for row in stored if row.chat_id is not None}
        # Listed without a chat id: the same person by name, keeping the chat an invite bound (if any).
        named = {row.name: row for row in stored}
        by_name: dict[str, PersonRow] = {}
        for p in spec.people:
            found = people.get(p.chat_id) if p.chat_id is not None else None
            candidate = named.get(p.name) if found is None else None
            if candidate is not None and (p.chat_id is None or candidate.chat_id is None):
                found = candidate
            person_row = found or PersonRow(chat_id=p.chat_id)
            if p.chat_id is not None:
                person_row.chat_id = p.chat_id
            person_row.name, person_row.phone, person_row.active = p.name, p.phone, True
            person_row.roles = sorted(r.value for r in p.roles)
            person_row.grid_id = grids[p.grid].id if p.grid else None
            person_row.duty = duty_to_json(p.duty)  # on_leave is theirs to set with /leave, kept as is
            s.add(person_row)
            by_name[p.name] = person_row
        await s.flush()
        for p in spec.people:
            deputy = by_name.get(p.deputy) if p.deputy else None  # validated files always name a known person
            by_name[p.name].deputy_id = deputy.id if deputy else None
        settings_row = await s.get(CommunitySettingsRow, 1) or CommunitySettingsRow(id=1)
        settings_row.data = settings_to_json(spec.settings)
        s.add(settings_row)
        self._settings = None
        self._compounds, self._buildings, self._grids, self._routes = {}, {}, {}, {}
        for g in spec.grids:
            if g.leader:
                grids[g.name].leader_id = by_name[g.leader].id
        routes = {row.category: row for row in await s.scalars(select(CategoryRouteRow))}
        for category, route_row in routes.items():
            if Category(category) not in spec.routing:
                await s.delete(route_row)
        for category, roles in spec.routing.items():
            route = routes.get(category.value) or CategoryRouteRow(category=category.value)
            route.role = ",".join(r.value for r in roles)
            s.add(route)
        residents = {row.chat_id: row for row in await s.scalars(select(ResidentRow))}
        for r in spec.residents:
            resident_row = residents.get(r.chat_id) or ResidentRow(chat_id=r.chat_id, name=r.name)
            resident_row.name = r.name
            if r.consented and resident_row.consented_at is None:
                resident_row.consented_at = now
            if r.compound and r.building:
                building_row = buildings[(compounds[r.compound].id, r.building)]
                resident_row.building_id, resident_row.unit, resident_row.room = (
                    building_row.id,
                    r.unit,
                    r.room,
                )
            s.add(resident_row)
        await s.flush()


def resident_from_row(row: ResidentRow) -> Resident:
    return Resident(
        checkin=row.checkin,
        id=row.id,
        chat_id=row.chat_id,
        name=row.name,
        consented_at=row.consented_at,
        building_id=row.building_id,
        unit=row.unit,
        room=row.room,
        phone=row.phone,
        phone_consent=row.phone_consent,
    )
