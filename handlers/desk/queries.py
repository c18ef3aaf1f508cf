"""What the desk reads, and who may read what (role scoping, decided here and applied in every query).

Staff see every order; a grid leader sees the grids they lead (and their own); a grid member sees their
grid and whatever is assigned to them. Storage applies a `Scope` inside each query (never by filtering
afterwards), so a page, a count or a search never includes what the viewer may not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from handlers.care.model import LedgerEntry
from handlers.community.model import Person, Resident, Role
from handlers.ports import CommunityRepository, LedgerRepository


@dataclass(frozen=True)
class Scope:
    """What one viewer may see: everything (`everything`), or these grids plus orders assigned to them."""

    person_id: int
    everything: bool = False
    grid_ids: frozenset[int] = frozenset()

    def covers(self, grid_id: int | None, assignee_id: int | None) -> bool:
        return self.everything or (grid_id in self.grid_ids) or assignee_id == self.person_id


async def scope_for(person: Person, community: CommunityRepository) -> Scope:
    """The scope of a desk user, from their stored roles and grids (re-read on every request)."""
    if person.is_staff:
        return Scope(person.id, everything=True)
    grids: set[int] = set()
    if person.has(Role.GRID_LEADER, Role.GRID_MEMBER) and person.grid_id is not None:
        grids.add(person.grid_id)
    if person.has(Role.GRID_LEADER):
        grids.update(g.id for g in await community.grids() if g.leader_id == person.id)
    return Scope(person.id, grid_ids=frozenset(grids))


@dataclass(frozen=True)
class OrderFilter:
    """The order list's filters and search; empty fields do not filter."""

    states: tuple[str, ...] = ()  # "open" stands for every open state
    category: str | None = None
    compound_id: int | None = None
    grid_id: int | None = None
    assignee_id: int | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    overdue: bool = False
    supervised: bool = False
    green_channel: bool = False
    search: str = ""  # an order number, a resident's name or phone, or words of the text


@dataclass(frozen=True)
class OrderLine:
    """One line of the order list (no resident data: the list is not a view of personal data)."""

    id: int
    number: str
    created_at: datetime
    category: str
    priority: str
    state: str
    place: str
    grid_name: str
    assignee_name: str
    supervised: bool
    green_channel: bool
    overdue: bool
    summary: str


@dataclass(frozen=True)
class OrderPage:
    lines: list[OrderLine]
    next_before: int | None  # keyset: pass it back as `before` for the next (older) page


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    actor: str  # "居民 王芳", "网格员 李娜", "系统"
    note: str


@dataclass(frozen=True)
class RecordedBy:
    person_name: str
    at: datetime
    channel: str
    address: str


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    person_name: str
    action: str
    record: str
    fields: tuple[str, ...]
    source: str
    reason: str


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None


@dataclass
class OrderView:
    """Everything the order page shows; resident fields are personal data (their view is audited)."""

    line: OrderLine
    text: str
    resident_id: int
    resident_name: str
    resident_phone: str | None
    resident_in_chat: bool
    grid_id: int | None
    assignee_id: int | None
    resolution_note: str
    satisfaction: str | None
    photos: list[str]
    timeline: list[TimelineEntry] = field(default_factory=list)
    recorded: RecordedBy | None = None


async def ledger_in_scope(ledger: LedgerRepository, scope: Scope) -> list[tuple[LedgerEntry, Resident]]:
    """The ledger entries a desk user may see: all for staff, else the residents of their grids (in SQL)."""
    if scope.everything:
        return await ledger.entries(None)
    found: list[tuple[LedgerEntry, Resident]] = []
    for grid_id in sorted(scope.grid_ids):
        found += await ledger.entries(grid_id)
    return found
