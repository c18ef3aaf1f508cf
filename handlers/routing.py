"""Who handles a work order: "小事不出楼栋,大事不出社区"."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.domain import Grid, Person, Role
from handlers.ports import UnitOfWork
from nlp.types import Category


@dataclass(frozen=True)
class Route:
    grid: Grid | None
    assignee: Person | None
    reason: str  # why nobody could be picked, for the dispatcher


async def least_loaded(uow: UnitOfWork, people: list[Person]) -> Person | None:
    """The candidate with the fewest open orders; ties go to the earliest listed (stable order)."""
    if not people:
        return None
    load = await uow.orders.open_count_by_assignee([p.id for p in people])
    return min(people, key=lambda p: (load.get(p.id, 0), p.id))


async def route_order(uow: UnitOfWork, category: Category, building_id: int | None) -> Route:
    """Pick the grid and the assignee for a new order.

    A category override (e.g. fraud -> staff) wins; otherwise the grid covering the building and its
    grid members, then its grid leader. Without a building nobody is picked and staff dispatch it.
    """
    grid = await uow.community.grid_for_building(building_id) if building_id is not None else None
    override = await uow.community.category_role(category)
    if override is not None:
        candidates = await uow.community.people(role=override)
        if override not in (Role.STAFF, Role.ADMIN, Role.POLICE_LIAISON) and grid is not None:
            # a grid role: prefer the people of this grid
            candidates = [p for p in candidates if p.grid_id == grid.id] or candidates
        chosen = await least_loaded(uow, candidates)
        if chosen is not None:
            return Route(grid, chosen, "")
    if grid is None:
        return Route(None, None, "未能确定楼栋" if building_id is None else "该楼栋未划入网格")
    members = await uow.community.people(role=Role.GRID_MEMBER, grid_id=grid.id)
    chosen = await least_loaded(uow, members)
    if chosen is None and grid.leader_id is not None:
        chosen = await uow.community.person(grid.leader_id)
    if chosen is None:
        return Route(grid, None, f"{grid.name}暂无网格员")
    return Route(grid, chosen, "")


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
