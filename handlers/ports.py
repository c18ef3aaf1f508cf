"""What the core needs from the outside world. storage/ and bot/ implement these; tests use fakes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from handlers.broadcasts.model import Audience, Broadcast, Campaign, FinishedRun, RunCounts, Topic
from handlers.care.model import Checkin, LedgerEntry
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
from handlers.community.settings import CommunitySettings, CommunitySpec
from handlers.labels.model import ClassificationLabel
from handlers.messages import Reply
from handlers.workorders.model import OrderEvent, ReportChecks, WorkOrder
from nlp.types import Category


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class Happened(StrEnum):
    """Things the core did that operations count (metrics); reported only once they are committed."""

    ORDER_OPENED = "order_opened"  # detail: the order's category
    REMINDED = "reminded"  # 催办 before the due time; detail: ""
    ESCALATED = "escalated"  # 督办 after it; detail: the new escalation level


@dataclass(frozen=True)
class Notice:
    what: Happened
    detail: str = ""


class Observer(Protocol):
    def observe(self, notice: Notice) -> None:
        """Called after the transaction that did it committed; must not raise or block."""
        ...


class NoObserver:
    """The default observer: nobody is counting."""

    def observe(self, notice: Notice) -> None:
        return None


@dataclass
class Conversation:
    """Where a chat is in a multi-step exchange (registration, a pending report, a resolve note)."""

    step: str
    data: dict[str, Any] = field(default_factory=dict)


class CommunityRepository(Protocol):
    async def person_by_chat(self, chat_id: int) -> Person | None: ...
    async def person(self, person_id: int) -> Person | None: ...
    async def people(self, role: Role | None = None, grid_id: int | None = None) -> list[Person]: ...
    async def compounds(self) -> list[Compound]: ...
    async def compound(self, compound_id: int) -> Compound | None: ...
    async def compound_by_name(self, name: str) -> Compound | None: ...
    async def buildings(self, compound_id: int) -> list[Building]: ...
    async def building(self, building_id: int) -> Building | None: ...
    async def find_building(self, compound_id: int, number: str) -> Building | None: ...
    async def grid(self, grid_id: int) -> Grid | None: ...
    async def grid_for_building(self, building_id: int) -> Grid | None: ...
    async def grids(self) -> list[Grid]: ...
    async def category_roles(self, category: Category) -> tuple[Role, ...]:
        """Who takes this category instead of the grid member (first) and who else is told."""
        ...

    async def settings(self) -> CommunitySettings: ...
    async def set_leave(self, person_id: int, on_leave: bool) -> None: ...
    async def set_duty(self, person_id: int, duty: DutyHours | None) -> None:
        """The person's weekly duty hours (None: always on duty), edited in chat (/rota)."""
        ...

    async def apply(self, spec: CommunitySpec) -> None:
        """Make the stored structure match `spec` (people missing from it are deactivated)."""
        ...

    async def spec(self) -> CommunitySpec:
        """The stored structure as a community file would describe it (for desk edits and export)."""
        ...

    # Invites (handlers/community/invites.py). People listed without a chat id are not "people" above
    # (nothing is routed to them) until an invite binds their chat.
    async def invitee(self, name: str) -> Invitee | None:
        """The active person called `name`, joined or not."""
        ...

    async def add_invite(self, invite: Invite) -> None: ...
    async def invite(self, code_hash: str) -> Invite | None: ...
    async def use_invite(self, code_hash: str, at: datetime) -> bool:
        """Mark the invite used; False when it already was (two chats opened the same link at once)."""
        ...

    async def bind_chat(self, person_id: int, chat_id: int) -> None:
        """From now on `chat_id` is this person's chat (their first, or a new Telegram account)."""
        ...


class ResidentRepository(Protocol):
    async def by_chat(self, chat_id: int) -> Resident | None: ...
    async def get(self, resident_id: int) -> Resident | None: ...
    async def save(self, resident: Resident) -> Resident: ...
    async def by_chats(self, chat_ids: Collection[int]) -> dict[int, Resident]:
        """The residents among `chat_ids`, by chat id, in a few queries (a ledger import has 100k)."""
        ...

    async def save_many(self, residents: list[Resident]) -> None:
        """Save every resident in a few statements; new ones get their id."""
        ...


class WorkOrderRepository(Protocol):
    async def next_number(self, day: str) -> int:
        """The next sequence number of the day `day` (YYYYMMDD), unique across processes."""
        ...

    async def add(self, order: WorkOrder) -> WorkOrder: ...
    async def add_numbered(self, order: WorkOrder, day: str) -> WorkOrder:
        """Add `order` under the day's next number (`order_number(day, next_number(day))`, set on it).
        The day's counter stays locked until the commit, so it is taken as late as the number allows."""
        ...

    async def get(self, order_id: int) -> WorkOrder | None: ...
    async def save(self, order: WorkOrder) -> None: ...
    async def for_resident(self, resident_id: int, limit: int = 10) -> list[WorkOrder]: ...
    async def opened_by(self, resident_id: int, since: datetime) -> int:
        """How many orders the resident opened since `since` (the flood limit counts them)."""
        ...

    async def open_orders(
        self, limit: int = 50, after: int = 0, assignee_id: int | None = None
    ) -> list[WorkOrder]:
        """Open orders in id order, from the first id above `after` (a page), optionally one person's."""
        ...

    async def by_number(self, number: str) -> WorkOrder | None: ...
    async def history(self, order_id: int) -> list[OrderEvent]:
        """Every stored event of the order, oldest first."""
        ...

    async def followed_by(self, resident_id: int, limit: int = 10) -> list[WorkOrder]:
        """Open orders the resident joined ("me too"), newest first."""
        ...

    async def open_count_by_assignee(self, person_ids: list[int]) -> dict[int, int]: ...
    async def last_assignee_in_grid(self, grid_id: int) -> int | None: ...
    async def similar_open(
        self, category: Category, building_id: int | None, compound_id: int | None, since: datetime
    ) -> list[WorkOrder]:
        """Open orders of the category at that building (or anywhere in the compound) opened since `since`."""
        ...

    async def report_checks(
        self,
        resident_id: int,
        hour: datetime,
        category: Category,
        building_id: int | None,
        compound_id: int | None,
        since: datetime,
        assignees: Collection[int] = (),
    ) -> ReportChecks:
        """`opened_by`, `similar_open` and `open_count_by_assignee(assignees)` in one round trip."""
        ...

    async def claim_due(self, now: datetime, limit: int = 50) -> list[WorkOrder]:
        """Orders whose timer is due, locked for this transaction (other replicas skip them)."""
        ...

    async def overdue(self, now: datetime, limit: int = 50) -> list[WorkOrder]: ...
    async def statistics(self, since: datetime, now: datetime) -> OrderStatistics: ...


@dataclass(frozen=True)
class OrderStatistics:
    """The whole picture for staff over a period (opened since `since`) and right now (open, overdue)."""

    opened: int
    by_category: dict[str, int]
    open_by_state: dict[str, int]
    overdue: int
    satisfaction: dict[str, int]  # satisfied / basically / unsatisfied, of orders rated in the period
    reopened: int


class FollowupRepository(Protocol):
    """The 回访 list: orders the timer closed unrated, until staff record the phone call's result."""

    async def add(self, order_id: int, closed_at: datetime) -> None: ...
    async def pending(self, after: int = 0, limit: int = 10) -> list[int]:
        """Ids of orders still to call, in id order, from the first above `after` (a page)."""
        ...

    async def pending_count(self) -> int: ...
    async def done(self, order_id: int, at: datetime, person_id: int | None, result: str) -> bool:
        """Record the call (`person_id` None: the resident rated late themselves); False when the order was
        not (or no longer) on the list."""
        ...


class LedgerRepository(Protocol):
    async def get(self, resident_id: int) -> LedgerEntry | None: ...
    async def save(self, entry: LedgerEntry) -> None: ...
    async def remove(self, resident_id: int) -> None: ...
    async def entries(self, grid_id: int | None = None) -> list[tuple[LedgerEntry, Resident]]:
        """The ledger, or the part of it whose residents live in the grid."""
        ...

    async def get_many(self, resident_ids: Collection[int]) -> dict[int, LedgerEntry]:
        """The entries of these residents, by resident id, in a few queries."""
        ...

    async def save_many(self, entries: list[LedgerEntry]) -> None:
        """Insert or replace every entry in a few statements."""
        ...


class CheckinRepository(Protocol):
    async def residents_to_ask(self, day: date) -> list[Resident]:
        """Opted-in residents who have not been asked on `day` yet."""
        ...

    async def add(self, checkin: Checkin) -> Checkin | None:
        """Record the question; None when this resident was already asked that day (another replica)."""
        ...

    async def get(self, checkin_id: int) -> Checkin | None: ...
    async def save(self, checkin: Checkin) -> None: ...
    async def latest(self, resident_ids: Collection[int]) -> dict[int, Checkin]:
        """Each resident's most recent check-in (for the ledger's status)."""
        ...

    async def claim_unanswered(self, asked_before: datetime, alerted_before: datetime) -> list[Checkin]:
        """Unanswered check-ins due an alert (asked before) or an escalation (alerted before), locked."""
        ...


class MessageLinkRepository(Protocol):
    """Which bot message in which chat was about which order (for relayed replies)."""

    async def add(self, chat_id: int, message_id: int, order_id: int) -> None: ...
    async def order_for(self, chat_id: int, message_id: int) -> int | None: ...
    async def latest_message(self, chat_id: int, order_id: int) -> int | None: ...


class ConversationRepository(Protocol):
    async def get(self, chat_id: int) -> Conversation | None: ...
    async def set(self, chat_id: int, conversation: Conversation) -> None: ...
    async def clear(self, chat_id: int) -> None: ...


class InboundLedger(Protocol):
    async def first_time(self, key: str) -> bool:
        """Record `key`; False when it was recorded before (a redelivered update)."""
        ...


class Outbox(Protocol):
    async def put(self, reply: Reply) -> None: ...


class BroadcastRepository(Protocol):
    """Broadcasts, their runs and delivery ledger (planning side), opt-outs and the campaign library."""

    async def add(self, broadcast: Broadcast) -> Broadcast: ...
    async def get(self, broadcast_id: int) -> Broadcast | None: ...
    async def save(self, broadcast: Broadcast) -> None: ...
    async def recent(self, limit: int = 20) -> list[Broadcast]: ...
    async def claim_due(self, now: datetime, limit: int = 10) -> list[Broadcast]:
        """Approved broadcasts whose next run is due, locked for this transaction (skipped by others)."""
        ...

    async def audience_chats(self, audience: Audience) -> list[int]:
        """Chat ids of everyone in the audience, each once."""
        ...

    async def opted_out(self, topic: Topic, chat_ids: Collection[int]) -> set[int]: ...
    async def add_run(self, broadcast: Broadcast, fire_at: datetime, chat_ids: list[int]) -> int | None:
        """One run and one delivery row per chat; None if this fire time already has a run."""
        ...

    async def cancel_pending(self, broadcast_id: int) -> int: ...
    async def counts(self, broadcast_id: int) -> RunCounts: ...
    async def finished_runs(self, limit: int = 20) -> list[FinishedRun]:
        """Runs whose deliveries all have an outcome, marked done (each is returned once)."""
        ...

    async def topics_off(self, chat_id: int) -> set[Topic]: ...
    async def set_topic(self, chat_id: int, topic: Topic, on: bool) -> None: ...
    async def campaign(self, key: str) -> Campaign | None: ...
    async def campaigns(self) -> list[Campaign]: ...
    async def save_campaign(self, campaign: Campaign) -> None: ...


class LabelRepository(Protocol):
    """The classifier's labelled examples (handlers/labels): written with the choice or correction, in its
    transaction; read back in id order by the CLI (export, suggest, train)."""

    async def add(self, label: ClassificationLabel) -> ClassificationLabel: ...
    async def page(self, after: int = 0, limit: int = 1000) -> list[ClassificationLabel]:
        """Labels with an id above `after`, in id order, at most `limit` of them."""
        ...


@dataclass(frozen=True)
class HeldData:
    """What is stored about one resident beyond their own record, ledger entry and topic settings
    (which the other ports read): what /mydata lists."""

    orders: int  # orders they opened
    open_orders: tuple[str, ...]  # numbers of those still open
    joined: int  # other residents' orders they joined ("me too")
    notes: int  # what they said on orders (relayed replies, "me too" texts)
    checkins: int  # daily check-in answers and questions recorded
    messages: int  # messages to their chat kept in the outbox
    updates: int  # their updates in the Telegram update journal (kept a few days)
    labels: int = 0  # their words kept as the classifier's labelled examples (handlers/labels)


@dataclass(frozen=True)
class Erased:
    """What deleting a resident's data removed or redacted, for the true answer they get."""

    orders: int  # their orders, whose texts were redacted (category, place to the building, times stay)
    notes: int  # their words on other orders and on their own, redacted
    records: int  # rows deleted: ledger, check-ins, settings, messages, journal, conversation


class PersonalDataRepository(Protocol):
    """A resident's data as a whole: listed for /mydata, erased for /deletedata."""

    async def held(self, resident: Resident) -> HeldData: ...
    async def erase(self, resident: Resident, placeholder: str) -> Erased:
        """Delete what is the resident's, redact their words everywhere else (with `placeholder` where a
        text cannot be empty), and leave their record as an anonymous row that no chat leads to."""
        ...


class UnitOfWork(Protocol):
    # Read-only members, so an implementation may narrow them to its own repository types.
    @property
    def community(self) -> CommunityRepository: ...
    @property
    def residents(self) -> ResidentRepository: ...
    @property
    def orders(self) -> WorkOrderRepository: ...
    @property
    def links(self) -> MessageLinkRepository: ...
    @property
    def conversations(self) -> ConversationRepository: ...
    @property
    def inbound(self) -> InboundLedger: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def broadcasts(self) -> BroadcastRepository: ...
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def checkins(self) -> CheckinRepository: ...
    @property
    def privacy(self) -> PersonalDataRepository: ...
    @property
    def labels(self) -> LabelRepository: ...
    @property
    def followups(self) -> FollowupRepository: ...

    async def serialize_chat(self, chat_id: int) -> None:
        """Hold the chat until this transaction ends: one update per chat at a time, across replicas."""
        ...

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
