"""Who handles a work order: "小事不出楼栋,大事不出社区"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from handlers.community.model import Grid, Person, Role
from handlers.ports import UnitOfWork
from nlp.types import Category

_COMMUNITY_ROLES = (Role.STAFF, Role.ADMIN, Role.POLICE_LIAISON)


@dataclass(frozen=True)
class Route:
    grid: Grid | None
    assignee: Person | None
    reason: str  # why nobody could be picked, for the dispatcher; or why a deputy took it
    also_tell: list[Person] = field(default_factory=list)  # the other roles of a category override


# Open orders per person, read with a report's other checks (reporting.py): `pick` asks the database only
# for people not in it.
Loads = Mapping[int, int]


async def pick(
    uow: UnitOfWork, people: list[Person], strategy: str, grid_id: int | None, loads: Loads | None = None
) -> Person | None:
    """Least-loaded (ties to the earliest listed) or round-robin after the grid's last assignee."""
    if not people:
        return None
    if strategy == "round_robin" and grid_id is not None:
        last = await uow.orders.last_assignee_in_grid(grid_id)
        ids = [p.id for p in people]
        if last in ids:
            return people[(ids.index(last) + 1) % len(people)]
        return people[0]
    if loads is not None and all(p.id in loads for p in people):
        load = loads
    else:
        load = await uow.orders.open_count_by_assignee([p.id for p in people])
    return min(people, key=lambda p: (load.get(p.id, 0), p.id))


async def _stand_in(uow: UnitOfWork, person: Person, now: datetime) -> Person | None:
    """The person themselves when available, else their deputy when the deputy is available."""
    if person.available(now):
        return person
    if person.deputy_id is not None:
        deputy = await uow.community.person(person.deputy_id)
        if deputy is not None and deputy.available(now):
            return deputy
    return None


async def _first_available(
    uow: UnitOfWork,
    people: list[Person],
    strategy: str,
    grid_id: int | None,
    now: datetime,
    loads: Loads | None,
) -> tuple[Person | None, str]:
    remaining = list(people)
    while remaining:
        chosen = await pick(uow, remaining, strategy, grid_id, loads)
        assert chosen is not None
        stand_in = await _stand_in(uow, chosen, now)
        if stand_in is not None:
            reason = "" if stand_in.id == chosen.id else f"{chosen.title}不在岗，由代班人处理"
            return stand_in, reason
        remaining.remove(chosen)
    return None, ""


async def route_order(
    uow: UnitOfWork, category: Category, building_id: int | None, now: datetime, loads: Loads | None = None
) -> Route:
    """Pick the grid and the assignee for a new order.

    A category override (e.g. fraud -> police liaison) wins; otherwise the grid covering the building and
    its grid members, then its grid leader. People on leave or off duty hand over to their deputy. Without a
    building nobody is picked and staff dispatch it. `loads`: open orders per person already read (`pick`).
    """
    settings = await uow.community.settings()
    grid = await uow.community.grid_for_building(building_id) if building_id is not None else None
    override = await uow.community.category_roles(category)
    if override:
        first, others = override[0], override[1:]
        candidates = await _override_candidates(uow, first, grid)
        chosen, reason = await _first_available(uow, candidates, settings.assignment, None, now, loads)
        if chosen is not None:
            also: dict[int, Person] = {}
            for role in others:
                for person in await uow.community.people(role=role):
                    if person.id != chosen.id:
                        also[person.id] = person
            return Route(grid, chosen, reason, list(also.values()))
    if grid is None:
        return Route(None, None, "未能确定楼栋" if building_id is None else "该楼栋未划入网格")
    members = await uow.community.people(role=Role.GRID_MEMBER, grid_id=grid.id)
    chosen, reason = await _first_available(uow, members, settings.assignment, grid.id, now, loads)
    if chosen is None and grid.leader_id is not None:
        leader = await uow.community.person(grid.leader_id)
        chosen = await _stand_in(uow, leader, now) if leader is not None else None
        reason = f"{grid.name}网格员均不在岗，由网格长处理"
    if chosen is None:
        return Route(grid, None, f"{grid.name}暂无在岗网格员")
    return Route(grid, chosen, reason)


async def counted_first(uow: UnitOfWork, category: Category, building_id: int | None) -> list[int]:
    """Whose open orders `route_order` counts first for such an order (least-loaded picking), so that a
    report can read them with its other checks; [] when it counts none (round robin, no grid). From the
    community cache: no round trip."""
    settings = await uow.community.settings()
    grid = await uow.community.grid_for_building(building_id) if building_id is not None else None
    override = await uow.community.category_roles(category)
    if override:  # picked among the role's people without a grid's round robin: always least-loaded
        return [p.id for p in await _override_candidates(uow, override[0], grid)]
    if grid is None or settings.assignment == "round_robin":
        return []
    return [p.id for p in await uow.community.people(role=Role.GRID_MEMBER, grid_id=grid.id)]


async def _override_candidates(uow: UnitOfWork, role: Role, grid: Grid | None) -> list[Person]:
    """A category override's first role: its people in the order's grid when it has any there."""
    candidates = await uow.community.people(role=role)
    if role not in _COMMUNITY_ROLES and grid is not None:
        candidates = [p for p in candidates if p.grid_id == grid.id] or candidates
    return candidates


async def escalation_target(uow: UnitOfWork, grid: Grid | None, level: int) -> list[Person]:
    """Level 1: the grid leader (staff when the grid has none); level 2: community staff."""
    if level == 1 and grid is not None and grid.leader_id is not None:
        leader = await uow.community.person(grid.leader_id)
        if leader is not None:
            return [leader]
    return await uow.community.people(role=Role.STAFF)


async def emergency_chain(uow: UnitOfWork, grid: Grid | None, assignee: Person | None) -> list[Person]:
    """Everyone to alert at once for an emergency, besides the assignee: grid leader and staff."""
    people: dict[int, Person] = {}
    if grid is not None and grid.leader_id is not None:
        leader = await uow.community.person(grid.leader_id)
        if leader is not None:
            people[leader.id] = leader
    for person in await uow.community.people(role=Role.STAFF):
        people[person.id] = person
    if assignee is not None:
        people.pop(assignee.id, None)
    return list(people.values())
