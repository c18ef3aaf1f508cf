"""The shared in-memory state of the fakes, a clock and a keyword classifier."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.broadcasts.model import (
    Broadcast,
    Campaign,
    Topic,
)
from handlers.care.model import Checkin, LedgerEntry
from handlers.community.model import Building, Compound, Grid, Invite, Person, Resident, Role
from handlers.community.settings import CommunitySettings, CommunitySpec
from handlers.labels.model import ClassificationLabel
from handlers.messages import Reply
from handlers.ports import Conversation
from handlers.workorders.model import OrderEvent, WorkOrder
from nlp.types import Category, Classification, Location, Priority


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        # A Monday morning in the community's time zone: everybody on duty, a working day.
        self.current = start or datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


class KeywordClassifier:
    """A tiny stand-in for the rule classifier: enough to drive the use cases deterministically."""

    RULES: tuple[tuple[str, Category], ...] = (
        ("着火", Category.EMERGENCY),
        ("晕倒", Category.EMERGENCY),
        ("骗", Category.FRAUD),
        ("工资", Category.WAGE_ARREARS),
        ("灯", Category.REPAIR),
        ("漏水", Category.REPAIR),
        ("垃圾", Category.SANITATION),
        ("停车", Category.PARKING),
    )

    def __init__(self, compounds: dict[str, list[str]]) -> None:
        self.compounds = compounds

    def classify(self, text: str) -> Classification:
        category = next((c for word, c in self.RULES if word in text), Category.UNKNOWN)
        compound = None
        for name, aliases in self.compounds.items():
            if any(label in text for label in [name, *aliases]):
                compound = name
        building = None
        for n in range(20, 0, -1):
            if f"{n}号楼" in text:
                building = str(n)
                break
        priority = Priority.URGENT if category is Category.EMERGENCY else Priority.NORMAL
        return Classification(category, priority, Location(compound=compound, building=building), (), 0.9)


class FakeStore:
    """The state behind every fake unit of work (the "database")."""

    def __init__(self) -> None:
        self.last_id = 0
        self.compounds: dict[int, Compound] = {}
        self.buildings: dict[int, Building] = {}
        self.building_grid: dict[int, int] = {}
        self.grids: dict[int, Grid] = {}
        self.people: dict[int, Person] = {}
        # Listed without a chat id, not joined yet (their chat_id is 0 until an invite binds one).
        self.waiting: dict[int, Person] = {}
        self.invites: dict[str, Invite] = {}
        self.routes: dict[Category, tuple[Role, ...]] = {}
        self.settings = CommunitySettings()
        self.spec: CommunitySpec | None = None  # the last applied (FakeCommunity.spec)
        self.ledger: dict[int, LedgerEntry] = {}
        self.checkins: dict[int, Checkin] = {}
        self.residents: dict[int, Resident] = {}
        self.orders: dict[int, WorkOrder] = {}
        self.events: dict[int, list[OrderEvent]] = {}
        self.counters: dict[str, int] = {}
        self.links: dict[tuple[int, int], int] = {}
        self.conversations: dict[int, Conversation] = {}
        self.inbound: set[str] = set()
        self.outbox: list[Reply] = []
        self.labels: list[ClassificationLabel] = []  # the classifier's labelled examples, in id order
        # The 回访 list: order id -> {closed_at, done_at, done_by, result}.
        self.followups: dict[int, dict[str, Any]] = {}

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def snapshot(self) -> FakeStore:
        return copy.deepcopy(self)


class FakeBroadcastState:
    """Broadcasts, runs, the delivery ledger and opt-outs, kept inside the FakeStore (copied with it)."""

    def __init__(self) -> None:
        self.broadcasts: dict[int, Broadcast] = {}
        self.runs: dict[int, dict[str, Any]] = {}  # id -> {broadcast_id, fire_at, text, state}
        self.deliveries: dict[int, dict[str, Any]] = {}  # id -> {run_id, chat_id, priority, status}
        self.opt_outs: set[tuple[int, Topic]] = set()
        self.campaigns: dict[str, Campaign] = {}
        self.last_id = 0

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id
