"""Write a community's structure as a community file, and check a structure with the file's own validation.

`dump_community` writes the sections the desk edits and `gridbot org import` reads (community, compounds,
grids, people, routing); `check_spec` is the desk's `SpecCheck`: it writes the structure as a file and reads it
back with `parse_community`, so a desk edit is refused for exactly what an imported file would be.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.imports.community_file import parse_community
from bot.imports.yaml_source import CommunityFileError
from handlers.community.model import DutyHours, Role
from handlers.community.settings import CommunitySpec, PersonSpec

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ROLE_ORDER = list(Role)


def duty_text(duty: DutyHours) -> str:
    """The file's form of duty hours: "mon,tue,wed 08:30-17:30" (read back by parse_duty)."""
    days = ",".join(_DAYS[d] for d in sorted(duty.weekdays))
    return f"{days} {duty.start:%H:%M}-{duty.end:%H:%M}"


def _person(p: PersonSpec) -> dict[str, Any]:
    item: dict[str, Any] = {"name": p.name}
    if p.chat_id is not None:
        item["chat_id"] = p.chat_id
    item["roles"] = [r.value for r in sorted(p.roles, key=_ROLE_ORDER.index)]
    for key, value in (("grid", p.grid), ("phone", p.phone), ("deputy", p.deputy)):
        if value:
            item[key] = value
    if p.duty is not None:
        item["duty"] = duty_text(p.duty)
    return item


def community_document(spec: CommunitySpec, name: str) -> dict[str, Any]:
    compounds = []
    for c in spec.compounds:
        compound: dict[str, Any] = {"name": c.name}
        if c.aliases:
            compound["aliases"] = list(c.aliases)
        compound["buildings"] = [
            {"number": b.number, "units": b.units} if b.units else b.number for b in c.buildings
        ]
        if c.latitude is not None and c.longitude is not None:
            compound["latitude"], compound["longitude"] = c.latitude, c.longitude
        compounds.append(compound)
    grids = []
    for g in spec.grids:
        grid: dict[str, Any] = {"name": g.name}
        if g.leader:
            grid["leader"] = g.leader
        if g.group_chat_id is not None:
            grid["group_chat_id"] = g.group_chat_id
        covers: dict[str, list[str]] = {}
        for compound_name, number in g.buildings:
            covers.setdefault(compound_name, []).append(number)
        grid["covers"] = [{"compound": c, "buildings": numbers} for c, numbers in covers.items()]
        grids.append(grid)
    document: dict[str, Any] = {
        "community": {"name": name},
        "compounds": compounds,
        "grids": grids,
        "people": [_person(p) for p in spec.people],
    }
    if spec.routing:
        document["routing"] = {
            category.value: [r.value for r in roles] for category, roles in spec.routing.items()
        }
    return document


def dump_community(spec: CommunitySpec, name: str) -> str:
    """The structure as a community file (settings and residents are not written: they have their own)."""
    return yaml.safe_dump(community_document(spec, name), allow_unicode=True, sort_keys=False, width=120)


def check_spec(spec: CommunitySpec) -> list[str]:
    """What the community file's validation says of this structure ([] when it would import)."""
    try:
        parse_community(dump_community(spec, spec.name or "社区"), "desk")
    except CommunityFileError as error:
        return [f"{p.where}: {p.message}" if p.where else p.message for p in error.problems]
    return []
