"""人员与网格 edited on the desk: one person or one grid changed in the community's structure.

An edit is made to the stored structure read as a `CommunitySpec` (what the community file describes), the
whole changed spec is checked by the community file's own validation (`SpecCheck`, given by the entry point:
bot/imports/community_export.py writes the spec as a file and reads it back), and only a valid spec is
applied, in the same transaction, exactly as `gridbot org import` applies a file. So a desk edit can never make
a structure the file would refuse, and the file stays the import/export format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

from handlers.community.model import Person
from handlers.community.settings import CommunitySpec, GridSpec, PersonSpec
from handlers.context import Context
from handlers.errors import DomainError, NotAuthorised
from handlers.workorders import texts as order_texts

# Problems with the changed structure, as the community file's validation words them ([] = valid).
SpecCheck = Callable[[CommunitySpec], list[str]]
Change = Callable[[CommunitySpec], CommunitySpec]


class StructureRefused(DomainError):
    """The changed structure is not valid; `problems` says why (nothing was changed)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("structure_invalid", "; ".join(problems))
        self.problems = problems


def _staff(ctx: Context) -> Person:
    if ctx.person is None or not ctx.person.is_staff:
        raise NotAuthorised("not_staff")
    return ctx.person


async def edit_structure(
    ctx: Context, change: Change, check: SpecCheck
) -> tuple[CommunitySpec, CommunitySpec]:
    """Staff change the structure: (before, after). Refused (StructureRefused) when the file would be."""
    _staff(ctx)
    before = await ctx.uow.community.spec()
    after = change(before)
    problems = check(after)
    if problems:
        raise StructureRefused(problems)
    await ctx.uow.community.apply(after)
    return before, after


async def set_leave_for(ctx: Context, person_id: int, on_leave: bool) -> Person:
    """Staff register someone's leave or return (as /leave and /back do); the person is told in chat."""
    _staff(ctx)
    person = await ctx.uow.community.person(person_id)
    if person is None:
        raise NotAuthorised("not_found")
    await ctx.uow.community.set_leave(person.id, on_leave)
    await ctx.say(person.chat_id, order_texts.LEAVE_ON if on_leave else order_texts.LEAVE_OFF)
    return person


def _renamed(name: str | None, old: str, new: str) -> str | None:
    return new if name == old else name


def put_person(old_name: str | None, person: PersonSpec) -> Change:
    """Add `person` (old_name None) or replace the one called `old_name`; a new name follows everywhere."""

    def change(spec: CommunitySpec) -> CommunitySpec:
        people = list(spec.people)
        grids = spec.grids
        if old_name is None:
            people.append(person)
        else:
            people = [person if p.name == old_name else p for p in people]
            if person.name != old_name:  # deputies and grid leaders named by the old name follow
                people = [replace(p, deputy=_renamed(p.deputy, old_name, person.name)) for p in people]
                grids = tuple(replace(g, leader=_renamed(g.leader, old_name, person.name)) for g in grids)
        return replace(spec, people=tuple(people), grids=grids)

    return change


def remove_person(name: str) -> Change:
    """Take someone out of the structure (deactivated, as when the file no longer lists them).

    Whoever had them as deputy or grid leader is left without one: the validation would otherwise refuse.
    """

    def change(spec: CommunitySpec) -> CommunitySpec:
        people = tuple(
            replace(p, deputy=None if p.deputy == name else p.deputy) for p in spec.people if p.name != name
        )
        grids = tuple(replace(g, leader=None if g.leader == name else g.leader) for g in spec.grids)
        return replace(spec, people=people, grids=grids)

    return change


def put_grid(old_name: str | None, grid: GridSpec) -> Change:
    """Add `grid` or replace the one called `old_name` (its members follow a new name)."""

    def change(spec: CommunitySpec) -> CommunitySpec:
        if old_name is None:
            return replace(spec, grids=(*spec.grids, grid))
        grids = tuple(grid if g.name == old_name else g for g in spec.grids)
        people = tuple(replace(p, grid=_renamed(p.grid, old_name, grid.name)) for p in spec.people)
        return replace(spec, grids=grids, people=people)

    return change


def changed_fields(before: PersonSpec | GridSpec | None, after: PersonSpec | GridSpec | None) -> list[str]:
    """The names of the fields an edit changed (what the audit log records: never the values)."""
    if before is None or after is None:
        return ["added" if before is None else "removed"]
    return [f.name for f in fields(before) if getattr(before, f.name) != getattr(after, f.name)]
