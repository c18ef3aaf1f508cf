"""The community in memory: loaded once per version, read by every update without a query.

The community (settings, compounds, buildings, grids, category routes, people) changes a few times a day
and is read several times per report. The database bumps one number on every change to those tables
(triggers, migration 0015); a unit of work reads that number once (on PostgreSQL in the same round trip as
its chat lock) and takes the snapshot loaded for it, loading it when the number moved. So a change made by
any process (an `org import`, /leave, the desk, another replica) is seen by the next update everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.community.model import Building, Compound, Grid, Person, Role
from handlers.community.settings import CommunitySettings
from nlp.types import Category
from storage.models import (
    BuildingRow,
    CategoryRouteRow,
    CommunitySettingsRow,
    CommunityVersionRow,
    CompoundRow,
    GridRow,
    PersonRow,
)
from storage.settings_codec import duty_from_json, settings_from_json


def person_from_row(row: PersonRow) -> Person:
    assert row.chat_id is not None  # only people who joined are read as Person (JOINED)
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
JOINED = (PersonRow.active, PersonRow.chat_id.is_not(None))


def compound_from_row(row: CompoundRow) -> Compound:
    return Compound(
        id=row.id,
        name=row.name,
        aliases=tuple(row.aliases or ()),
        latitude=row.latitude,
        longitude=row.longitude,
    )


def grid_from_row(row: GridRow) -> Grid:
    return Grid(id=row.id, name=row.name, leader_id=row.leader_id, group_chat_id=row.group_chat_id)


@dataclass(frozen=True)
class Snapshot:
    """The community as one version of it; its values are frozen, so updates may share them."""

    version: int | None  # None: read inside a transaction that changed it (never shared)
    settings: CommunitySettings
    compounds: tuple[Compound, ...]  # in id order
    buildings: dict[int, Building]
    building_grid: dict[int, int | None]
    grids: dict[int, Grid]  # in id order
    people: tuple[Person, ...]  # active and joined, in id order
    routes: dict[Category, tuple[Role, ...]]
    compound_by_id: dict[int, Compound] = field(default_factory=dict)
    building_at: dict[tuple[int, str], Building] = field(default_factory=dict)
    person_by_id: dict[int, Person] = field(default_factory=dict)
    person_by_chat: dict[int, Person] = field(default_factory=dict)
    people_by_role: dict[Role, tuple[Person, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.compound_by_id.update({c.id: c for c in self.compounds})
        self.building_at.update({(b.compound_id, b.number): b for b in self.buildings.values()})
        self.person_by_id.update({p.id: p for p in self.people})
        self.person_by_chat.update({p.chat_id: p for p in self.people})
        for role in Role:
            self.people_by_role[role] = tuple(p for p in self.people if role in p.roles)


# Built once: every update reads the version, and building a statement costs more CPU than running it.
_VERSIONS = cast(Table, CommunityVersionRow.__table__)
# On the table: a statement naming the mapped class runs through the ORM's execution, ~30 µs more CPU, and
# SQLite reads it for every update.
VERSION = select(_VERSIONS.c.version).where(_VERSIONS.c.id == 1)


async def read_version(session: AsyncSession) -> int:
    version = await session.scalar(VERSION)
    return int(version or 0)


async def load_snapshot(session: AsyncSession, version: int | None) -> Snapshot:
    """Read the whole community (six small queries), as of `version`."""
    settings_row = await session.get(CommunitySettingsRow, 1)
    compounds = tuple(
        compound_from_row(row) for row in await session.scalars(select(CompoundRow).order_by(CompoundRow.id))
    )
    names = {c.id: c.name for c in compounds}
    buildings: dict[int, Building] = {}
    building_grid: dict[int, int | None] = {}
    for row in await session.scalars(select(BuildingRow).order_by(BuildingRow.id)):
        buildings[row.id] = Building(
            id=row.id,
            compound_id=row.compound_id,
            compound_name=names[row.compound_id],
            number=row.number,
            units=row.units,
        )
        building_grid[row.id] = row.grid_id
    grids = {
        row.id: grid_from_row(row) for row in await session.scalars(select(GridRow).order_by(GridRow.id))
    }
    people = tuple(
        person_from_row(row)
        for row in await session.scalars(select(PersonRow).where(*JOINED).order_by(PersonRow.id))
    )
    # several roles are stored comma-separated: the first takes the order, the others are told
    routes = {
        Category(row.category): tuple(Role(r) for r in row.role.split(","))
        for row in await session.scalars(select(CategoryRouteRow))
    }
    return Snapshot(
        version=version,
        settings=settings_from_json(settings_row.data) if settings_row else CommunitySettings(),
        compounds=compounds,
        buildings=buildings,
        building_grid=building_grid,
        grids=grids,
        people=people,
        routes=routes,
    )


class CommunityCache:
    """One process's copy (shared by its units of work): the snapshot of the newest version seen."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self.loads = 0  # how many times the community was read from the database (tests, benchmarks)

    async def snapshot(self, session: AsyncSession, version: int) -> Snapshot:
        current = self._snapshot
        if current is not None and current.version == version:
            return current
        snapshot = await load_snapshot(session, version)
        self.loads += 1
        if current is None or current.version is None or version > current.version:
            self._snapshot = snapshot  # an older version (a long transaction) does not replace a newer one
        return snapshot
