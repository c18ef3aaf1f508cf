"""A validated description of one community's structure, as loaded from its YAML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

from handlers.community.model import DutyHours, Role
from nlp.types import Category, Priority


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
    chat_id: int | None  # None: not joined yet (`gridbot org invite NAME` sends them a link)
    roles: frozenset[Role]
    grid: str | None = None
    phone: str | None = None
    deputy: str | None = None  # a person's name
    duty: DutyHours | None = None


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
class SlaRule:
    accept: timedelta
    resolve: timedelta


# In the spirit of the 12345 hotline rules: emergencies accepted within minutes and handled the same day,
# consultations answered within 3 working days, other requests within 5.
DEFAULT_SLA: dict[str, SlaRule] = {
    Priority.URGENT.value: SlaRule(timedelta(minutes=10), timedelta(hours=8)),
    Priority.HIGH.value: SlaRule(timedelta(hours=1), timedelta(days=1)),
    Priority.NORMAL.value: SlaRule(timedelta(hours=4), timedelta(days=5)),
    Category.POLICY.value: SlaRule(timedelta(hours=4), timedelta(days=3)),
    Category.EMPLOYMENT.value: SlaRule(timedelta(hours=4), timedelta(days=3)),
    Category.UTILITY_PAYMENT.value: SlaRule(timedelta(hours=4), timedelta(days=3)),
    Category.OTHER.value: SlaRule(timedelta(hours=4), timedelta(days=3)),
}


@dataclass(frozen=True)
class CommunitySettings:
    """How the community works: assignment, SLAs, escalation, duplicates, check-ins."""

    assignment: str = "least_loaded"  # or "round_robin" among a grid's members
    # SLA limits per category key or priority name; a category's own rule wins over its priority's.
    sla: dict[str, SlaRule] = field(default_factory=lambda: dict(DEFAULT_SLA))
    working_time: bool = False  # count non-urgent SLAs in working hours on Chinese workdays
    working_hours: tuple[time, time] = (time(8, 30), time(17, 30))
    remind_before: float = 0.25  # 催办 when this share of the time to the due time is left
    escalate_every: timedelta = timedelta(hours=2)  # from grid leader to staff after the due time
    green_channel_factor: float = 0.5  # vulnerable residents' SLAs are this much shorter
    duplicate_window: timedelta = timedelta(hours=24)
    # A possible emergency: how long the resident has to answer "是否正在发生危险" before the grid leader
    # and staff are alerted anyway.
    emergency_confirm_within: timedelta = timedelta(minutes=3)
    checkin_time: time = time(9, 0)
    checkin_answer_within: timedelta = timedelta(hours=3)
    checkin_escalate_after: timedelta = timedelta(hours=2)
    # A resolved order the resident has not rated: a reminder after `rating_remind_after`; closed as 未评价
    # (and put on the staff's 回访 list) after `rating_close_after`, both counted from the resolution.
    rating_remind_after: timedelta = timedelta(hours=24)
    rating_close_after: timedelta = timedelta(days=7)

    def sla_for(self, category: Category, priority: Priority) -> SlaRule:
        if priority is Priority.URGENT:
            return self.sla.get(Priority.URGENT.value, DEFAULT_SLA[Priority.URGENT.value])
        return (
            self.sla.get(category.value)
            or self.sla.get(priority.value)
            or DEFAULT_SLA.get(category.value)
            or DEFAULT_SLA[priority.value]
        )


@dataclass(frozen=True)
class CommunitySpec:
    name: str
    compounds: tuple[CompoundSpec, ...]
    grids: tuple[GridSpec, ...]
    people: tuple[PersonSpec, ...]
    residents: tuple[ResidentSpec, ...] = ()
    # category -> the roles that handle it instead of the building's grid member: the first takes the
    # order, the others are told (e.g. fraud -> police liaison, and staff informed)
    routing: dict[Category, tuple[Role, ...]] = field(default_factory=dict)
    settings: CommunitySettings = field(default_factory=CommunitySettings)

    def compound_aliases(self) -> dict[str, list[str]]:
        return {c.name: list(c.aliases) for c in self.compounds}
