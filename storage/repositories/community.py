"""The community structure: compounds, buildings, grids, people, category routes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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
from handlers.community.settings import (
    BuildingSpec,
    CommunitySettings,
    CommunitySpec,
    CompoundSpec,
    GridSpec,
    PersonSpec,
)
from nlp.types import Category
from storage.community_cache import (
    CommunityCache,
    Snapshot,
    load_snapshot,
    person_from_row,
    read_version,
)
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
from storage.settings_codec import duty_from_json, duty_to_json, settings_to_json

# The storage of the structure shares its row readers with the in-memory copy (storage/community_cache.py).
_person = person_from_row


def _invite(row: InviteRow) -> Invite:
    return Invite(
        code_hash=row.code_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        person_id=row.person_id,
        resident_name=row.resident_name,
        used_at=row.used_at,
    )


class SqlCommunityRepository:
    """Reads come from the process's copy of the community for the version this unit of work saw (one
    query for the number, none for the rest); a unit of work that changes the community reads its own
    changes from the session instead, and the database's triggers tell every process to load it again."""

    def __init__(self, session: AsyncSession, cache: CommunityCache | None = None) -> None:
        self._session = session
        self._cache = cache or CommunityCache()
        self._version: int | None = None  # as this unit of work saw it (read once)
        self._snapshot: Snapshot | None = None
        self._changed = False  # this unit of work wrote to the community: read its own writes

    def saw_version(self, version: int) -> None:
        """The unit of work read the version already (with its chat lock): no query of its own needed."""
        if self._version is None:
            self._version = version

    async def _view(self) -> Snapshot:
        if self._snapshot is None:
            if self._changed:
                await self._session.flush()
                self._snapshot = await load_snapshot(self._session, None)
            else:
                if self._version is None:
                    self._version = await read_version(self._session)
                self._snapshot = await self._cache.snapshot(self._session, self._version)
        return self._snapshot

    def _wrote(self) -> None:
        self._changed, self._snapshot = True, None

    async def person_by_chat(self, chat_id: int) -> Person | None:
        return (await self._view()).person_by_chat.get(chat_id)

    async def person(self, person_id: int) -> Person | None:
        return (await self._view()).person_by_id.get(person_id)

    async def people(self, role: Role | None = None, grid_id: int | None = None) -> list[Person]:
        view = await self._view()
        people = view.people if role is None else view.people_by_role.get(role, ())
        return [p for p in people if grid_id is None or p.grid_id == grid_id]

    async def compounds(self) -> list[Compound]:
        return list((await self._view()).compounds)

    async def compound(self, compound_id: int) -> Compound | None:
        return (await self._view()).compound_by_id.get(compound_id)

    async def compound_by_name(self, name: str) -> Compound | None:
        compounds = (await self._view()).compounds
        for compound in compounds:
            if compound.name == name:
                return compound
        for compound in compounds:
            if name in compound.aliases:
                return compound
        return None

    async def buildings(self, compound_id: int) -> list[Building]:
        view = await self._view()
        buildings = [b for b in view.buildings.values() if b.compound_id == compound_id]
        return sorted(buildings, key=lambda b: (len(b.number), b.number))

    async def building(self, building_id: int) -> Building | None:
        return (await self._view()).buildings.get(building_id)

    async def find_building(self, compound_id: int, number: str) -> Building | None:
        return (await self._view()).building_at.get((compound_id, number))

    async def grid(self, grid_id: int) -> Grid | None:
        return (await self._view()).grids.get(grid_id)

    async def grid_for_building(self, building_id: int) -> Grid | None:
        view = await self._view()
        grid_id = view.building_grid.get(building_id)
        return view.grids.get(grid_id) if grid_id is not None else None

    async def grids(self) -> list[Grid]:
        return list((await self._view()).grids.values())

    async def category_roles(self, category: Category) -> tuple[Role, ...]:
        return (await self._view()).routes.get(category, ())

    async def settings(self) -> CommunitySettings:
        return (await self._view()).settings

    async def set_leave(self, person_id: int, on_leave: bool) -> None:
        row = await self._session.get(PersonRow, person_id)
        if row is not None:
            row.on_leave = on_leave
            await self._session.flush()
            self._wrote()

    async def set_duty(self, person_id: int, duty: DutyHours | None) -> None:
        row = await self._session.get(PersonRow, person_id)
        if row is not None:
            row.duty = duty_to_json(duty)
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
        self._wrote()

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
        self._wrote()
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
