"""Work orders (工单): their states, events and the allowed lifecycle. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from handlers.errors import TransitionNotAllowed
from nlp.types import Category, Priority


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
    RECATEGORISED = "recategorised"  # staff or the handler corrected the category (note: "old->new")
    NOTED = "noted"  # an internal note on the desk: staff and handlers read it, residents never
    # The reporter withdrew while others still follow: the order goes on for them (note: "resident:<id>",
    # the follower who now holds it).
    WITHDRAWN = "withdrawn"
    RATING_REMINDED = "rating_reminded"  # the resident was reminded to rate a resolved order


# A CLOSED event's note when the resident never rated and the timer closed the order (未评价): it goes to the
# 回访 list, and statistics count it apart (handlers/statistics/metrics.py).
UNRATED = "unrated"


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


def order_number(day: str, sequence: int) -> str:
    """A work order's number: GD, the day (YYYYMMDD), the day's sequence number (at least four digits)."""
    return f"GD{day}-{sequence:04d}"


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
    # A possible emergency: the resident was asked whether it is happening now, and only the grid member
    # was alerted; "yes" or no answer before the timer alerts the grid leader and staff.
    emergency_check: bool = False
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

    def close(self, actor: Actor, at: datetime, note: str = "") -> None:
        """Close a resolved order the resident has not rated (staff on the desk; the timer: `UNRATED`)."""
        self._move(EventKind.CLOSED, actor, at, note)

    def record_followup(self, satisfaction: Satisfaction, actor: Actor, at: datetime) -> None:
        """A rating for an order closed unrated (未评价), which stays closed: staff's phone follow-up (回访; a
        rating by a person is a phone follow-up's), or the resident pressing a rating button late."""
        if self.state is not OrderState.CLOSED or self.satisfaction is not None or actor.kind == "system":
            raise TransitionNotAllowed("transition", f"follow-up from {self.state}")
        self.satisfaction = satisfaction
        self.record(EventKind.RATED, actor, at, satisfaction.value)

    def cancel(self, actor: Actor, at: datetime) -> None:
        self._move(EventKind.CANCELLED, actor, at)

    def withdraw_reporter(self, actor: Actor, at: datetime, holder_text: str = "") -> int:
        """The reporter leaves an order others still follow: the first follower holds it from now on (they
        are told, rate it, may cancel it). Returns the new holder's resident id.

        What the reporter wrote and sent is theirs: the order keeps the new holder's own words ("me too"
        text, `holder_text`) when there are any, and neither the reporter's room nor their photos."""
        if not self.followers or self.state not in _TRANSITIONS[EventKind.CANCELLED][0]:
            raise TransitionNotAllowed("transition", f"withdraw from {self.state}")
        holder = self.followers.pop(0)
        self.record(EventKind.WITHDRAWN, actor, at, f"resident:{holder}")
        self.resident_id = holder
        # The reporter's household is theirs, not the new holder's; the building stays.
        self.location = OrderLocation(
            compound_id=self.location.compound_id,
            compound_name=self.location.compound_name,
            building_id=self.location.building_id,
            building_number=self.location.building_number,
        )
        self.green_channel = ""
        if holder_text:
            self.text = holder_text
        self.photos = []
        return holder


@dataclass(frozen=True)
class ReportChecks:
    """What a report asks before its order opens (WorkOrderRepository.report_checks)."""

    opened: int  # orders the resident opened since the hour: the flood limit
    similar: list[WorkOrder]  # open orders about the same problem at the same place ("me too")
    loads: dict[int, int]  # open orders of each person asked about, 0 included: least-loaded routing
