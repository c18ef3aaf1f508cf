"""A validated description of one community's structure, as loaded from its YAML file."""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.domain import Role
from nlp.types import Category


@dataclass(frozen=True)
class BuildingSpec:
    number: str
    units: int = 0


@dataclass(frozen=True)
class CompoundSpec:
    name: str
    aliases: tuple[str, ...] = ()
    buildings: tuple[BuildingSpec, ...] = ()
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class GridSpec:
    name: str
    buildings: tuple[tuple[str, str], ...]  # (compound name, building number)
    leader: str | None = None  # a person's name
    group_chat_id: int | None = None


@dataclass(frozen=True)
class PersonSpec:
    name: str
    chat_id: int
    roles: frozenset[Role]
    grid: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ResidentSpec:
    """A resident registered in advance (the demo's personas, or an imported household list)."""

    name: str
    chat_id: int
    compound: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    # Consent collected outside the bot (e.g. a signed form at the community office).
    consented: bool = False


@dataclass(frozen=True)
class CommunitySpec:
    name: str
    compounds: tuple[CompoundSpec, ...]
    grids: tuple[GridSpec, ...]
    people: tuple[PersonSpec, ...]
    residents: tuple[ResidentSpec, ...] = ()
    # category -> the role that handles it instead of the building's grid member
    routing: dict[Category, Role] = field(default_factory=dict)

    def compound_aliases(self) -> dict[str, list[str]]:
        return {c.name: list(c.aliases) for c in self.compounds}
