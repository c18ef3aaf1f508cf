"""Domain types of the community and its work orders. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum

from nlp.types import Category, Priority


class Role(StrEnum):
    """What a person does in the community's "党建+网格" structure."""

    GRID_MEMBER = "grid_member"  # 网格员
    GRID_LEADER = "grid_leader"  # 网格长
    BUILDING_LEADER = "building_leader"  # 楼栋长
    HOUSEHOLD_LIAISON = "household_liaison"  # 十户联户长
    VOLUNTEER = "volunteer"  # 党员志愿者
    POLICE_LIAISON = "police_liaison"  # 社区民警
    STAFF = "staff"  # 社区工作人员
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.GRID_MEMBER: "网格员",
    Role.GRID_LEADER: "网格长",
    Role.BUILDING_LEADER: "楼栋长",
    Role.HOUSEHOLD_LIAISON: "联户长",
    Role.VOLUNTEER: "志愿者",
    Role.POLICE_LIAISON: "社区民警",
    Role.STAFF: "社区工作人员",
    Role.ADMIN: "管理员",
}

# Roles that may take work orders as assignees.
HANDLING_ROLES = frozenset(
    {Role.GRID_MEMBER, Role.GRID_LEADER, Role.BUILDING_LEADER, Role.STAFF, Role.ADMIN, Role.POLICE_LIAISON}
)


@dataclass(frozen=True)
class Compound:
    id: int
    name: str
    aliases: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Building:
    id: int
    compound_id: int
    compound_name: str
    number: str
    units: int = 0

    @property
    def label(self) -> str:
        return f"{self.compound_name}{self.number}号楼"


@dataclass(frozen=True)
class Grid:
    id: int
    name: str
    leader_id: int | None = None
    group_chat_id: int | None = None


@dataclass(frozen=True)
class DutyHours:
    """When someone is on duty: weekdays (0 = Monday) and a daily local-time window."""

    weekdays: frozenset[int]
    start: time
    end: time

    def covers(self, moment: datetime) -> bool:
        return moment.weekday() in self.weekdays and self.start <= moment.time() < self.end


@dataclass(frozen=True)
class Person:
    """Someone with a role in the community structure (not an ordinary resident)."""

    id: int
    name: str
    chat_id: int
    roles: frozenset[Role]
    grid_id: int | None = None
    deputy_id: int | None = None  # takes new orders while this person is on leave or off duty
    on_leave: bool = False
    duty: DutyHours | None = None  # None: always on duty

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def available(self, moment: datetime) -> bool:
        """On duty and not on leave: can take a new order now."""
        return not self.on_leave and (self.duty is None or self.duty.covers(moment))

    @property
    def is_staff(self) -> bool:
        return self.has(Role.STAFF, Role.ADMIN)

    @property
    def title(self) -> str:
        """How residents see this person, e.g. 网格员 李娜."""
        for role in (
            Role.GRID_MEMBER,
            Role.GRID_LEADER,
            Role.BUILDING_LEADER,
            Role.POLICE_LIAISON,
            Role.STAFF,
        ):
            if role in self.roles:
                return f"{role.label} {self.name}"
        return self.name


@dataclass
class Resident:
    """A person who talks to the bot about their own home. Address parts are optional."""

    id: int | None
    chat_id: int
    name: str
    consented_at: datetime | None = None
    building_id: int | None = None
    unit: str | None = None
    room: str | None = None
    phone: str | None = None
    phone_consent: bool = False
    checkin: bool = False  # opted in to the daily 平安问候

    @property
    def has_consented(self) -> bool:
        return self.consented_at is not None


class OrderState(StrEnum):
    NEW = "new"  # opened, nobody responsible yet (awaiting dispatch by staff)
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "new": "待派单",
            "assigned": "已派单",
            "accepted": "处理中",
            "resolved": "已办结待评价",
            "closed": "已完成",
            "cancelled": "已撤销",
        }[self.value]

    @property
    def is_open(self) -> bool:
        return self not in (OrderState.CLOSED, OrderState.CANCELLED)


class EventKind(StrEnum):
    CREATED = "created"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    TRANSFERRED = "transferred"
    RETURNED = "returned"
    MEMBER_REPLIED = "member_replied"
    RESIDENT_REPLIED = "resident_replied"
    PHOTO_ADDED = "photo_added"
    RESOLVED = "resolved"
    RATED = "rated"
    REOPENED = "reopened"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REMINDED = "reminded"  # 催办
    ESCALATED = "escalated"
    SUPERVISED = "supervised"  # 督办
    JOINED = "joined"  # another resident reported the same problem ("me too")


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY = "basically"
    UNSATISFIED = "unsatisfied"

    @property
    def label(self) -> str:
        return {"satisfied": "满意", "basically": "基本满意", "unsatisfied": "不满意"}[self.value]


@dataclass(frozen=True)
class Actor:
    """Who did something: a resident, a person of the community structure, or the system."""

    kind: str  # "resident" | "person" | "system"
    id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


@dataclass(frozen=True)
class OrderEvent:
    at: datetime
    kind: EventKind
    actor: Actor
    note: str = ""


class DomainError(Exception):
    """Root of the core's errors; `code` picks the Chinese message shown to the user."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class TransitionNotAllowed(DomainError):
    pass


class NotAuthorised(DomainError):
    pass


@dataclass(frozen=True)
class OrderLocation:
    compound_id: int | None = None
    compound_name: str | None = None
    building_id: int | None = None
    building_number: str | None = None
    unit: str | None = None
    room: str | None = None

    @property
    def label(self) -> str:
        parts = [self.compound_name or ""]
        if self.building_number:
            parts.append(f"{self.building_number}号楼")
        if self.unit:
            parts.append(f"{self.unit}单元")
        if self.room:
            parts.append(self.room)
        text = "".join(parts)
        return text or "未填写位置"


# The allowed lifecycle: (from states) -> to state, per action. Everything else is refused.
_TRANSITIONS: dict[EventKind, tuple[frozenset[OrderState], OrderState]] = {
    EventKind.ASSIGNED: (frozenset({OrderState.NEW}), OrderState.ASSIGNED),
    EventKind.ACCEPTED: (frozenset({OrderState.ASSIGNED}), OrderState.ACCEPTED),
    EventKind.TRANSFERRED: (frozenset({OrderState.ASSIGNED, OrderState.ACCEPTED}), OrderState.ASSIGNED),
    EventKind.RETURNED: (frozenset({OrderState.ASSIGNED, OrderState.ACCEPTED}), OrderState.NEW),
    EventKind.RESOLVED: (frozenset({OrderState.ACCEPTED}), OrderState.RESOLVED),
    EventKind.REOPENED: (frozenset({OrderState.RESOLVED}), OrderState.ASSIGNED),
    EventKind.CLOSED: (frozenset({OrderState.RESOLVED}), OrderState.CLOSED),
    EventKind.CANCELLED: (
        frozenset({OrderState.NEW, OrderState.ASSIGNED, OrderState.ACCEPTED}),
        OrderState.CANCELLED,
    ),
}


@dataclass
class WorkOrder:
    """A resident's problem and everything that happened to it. State changes only through methods."""

    id: int | None
    number: str
    resident_id: int
    resident_chat_id: int
    text: str
    category: Category
    priority: Priority
    location: OrderLocation
    created_at: datetime
    state: OrderState = OrderState.NEW
    grid_id: int | None = None
    assignee_id: int | None = None
    satisfaction: Satisfaction | None = None
    keywords: tuple[str, ...] = ()
    confidence: float = 0.0
    category_chosen_by_resident: bool = False
    resolution_note: str = ""
    photos: list[str] = field(default_factory=list)
    # SLA: when it must be accepted and resolved; the timer says what is due next (see handlers/sla.py).
    accept_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    escalation_level: int = 0  # 0: the assignee, 1: grid leader told, 2: community staff told
    reminded: bool = False  # 催办 sent for the current stage (acceptance or resolution)
    next_timer_at: datetime | None = None
    supervised: bool = False  # 督办 by staff
    green_channel: str = ""  # why the order is on the green channel (vulnerable resident), if it is
    followers: list[int] = field(default_factory=list)  # residents who joined with the same problem
    # Events recorded since the order was loaded; storage appends them to the history.
    new_events: list[OrderEvent] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.state.is_open

    def _move(self, kind: EventKind, actor: Actor, at: datetime, note: str = "") -> None:
        allowed_from, to_state = _TRANSITIONS[kind]
        if self.state not in allowed_from:
            raise TransitionNotAllowed("transition", f"{kind} from {self.state}")
        self.state = to_state
        self.record(kind, actor, at, note)

    def record(self, kind: EventKind, actor: Actor, at: datetime, note: str = "") -> None:
        self.new_events.append(OrderEvent(at=at, kind=kind, actor=actor, note=note))

    def open(self, actor: Actor, at: datetime) -> None:
        self.record(EventKind.CREATED, actor, at, self.category.value)

    def assign(self, assignee_id: int, actor: Actor, at: datetime) -> None:
        self._move(EventKind.ASSIGNED, actor, at, f"person:{assignee_id}")
        self.assignee_id = assignee_id

    def accept(self, actor: Actor, at: datetime) -> None:
        self._move(EventKind.ACCEPTED, actor, at)

    def transfer(self, to_person_id: int, actor: Actor, at: datetime) -> None:
        if to_person_id == self.assignee_id:
            raise TransitionNotAllowed("same_assignee")
        self._move(EventKind.TRANSFERRED, actor, at, f"person:{to_person_id}")
        self.assignee_id = to_person_id

    def return_to_dispatch(self, actor: Actor, at: datetime, reason: str = "") -> None:
        self._move(EventKind.RETURNED, actor, at, reason)
        self.assignee_id = None

    def resolve(self, note: str, actor: Actor, at: datetime) -> None:
        self._move(EventKind.RESOLVED, actor, at, note)
        self.resolution_note = note

    def rate(self, satisfaction: Satisfaction, actor: Actor, at: datetime) -> None:
        if self.state is not OrderState.RESOLVED:
            raise TransitionNotAllowed("transition", f"rate from {self.state}")
        self.satisfaction = satisfaction
        self.record(EventKind.RATED, actor, at, satisfaction.value)
        if satisfaction is Satisfaction.UNSATISFIED:
            self._move(EventKind.REOPENED, actor, at)
        else:
            self._move(EventKind.CLOSED, actor, at)

    def cancel(self, actor: Actor, at: datetime) -> None:
        self._move(EventKind.CANCELLED, actor, at)
