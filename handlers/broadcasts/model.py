"""Broadcasts (广播/推送): campaigns, audiences, schedules and the lifecycle staff drive. Values only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from handlers.errors import DomainError


class Topic(StrEnum):
    """What a campaign is about; residents opt out per topic (emergencies ignore opt-outs)."""

    ANTI_FRAUD = "anti_fraud"
    FIRE_SAFETY = "fire_safety"
    FOREST_FIRE = "forest_fire"
    FLOOD = "flood"
    GAS_SAFETY = "gas_safety"
    ACTIVITY = "activity"
    LEGAL = "legal"
    GRID_NOTICE = "grid_notice"  # a grid member's notice to their grid or building (/notice)
    EMERGENCY = "emergency"  # alerts only; not a topic anyone can switch off

    @property
    def label(self) -> str:
        return TOPIC_LABELS[self]


TOPIC_LABELS: dict[Topic, str] = {
    Topic.ANTI_FRAUD: "反诈提醒",
    Topic.FIRE_SAFETY: "消防安全",
    Topic.FOREST_FIRE: "森林防火",
    Topic.FLOOD: "防汛安全",
    Topic.GAS_SAFETY: "燃气安全",
    Topic.ACTIVITY: "社区活动",
    Topic.LEGAL: "法律讲座",
    Topic.GRID_NOTICE: "网格通知",
    Topic.EMERGENCY: "紧急通知",
}

# Topics a resident may switch off, in the order /subscriptions shows them.
OPTIONAL_TOPICS: tuple[Topic, ...] = tuple(t for t in Topic if t is not Topic.EMERGENCY)


class AudienceKind(StrEnum):
    ALL = "all"  # every resident who agreed to the privacy notice
    COMPOUNDS = "compounds"  # keys: compound ids
    BUILDINGS = "buildings"  # keys: building ids
    GRIDS = "grids"  # keys: grid ids
    ROLES = "roles"  # keys: Role values (people, not residents)
    # Extension point for issue 5 (vulnerable-resident ledger, 台账): keys name ledger groups
    # (e.g. "elderly_alone"). Until the ledger lands, resolving it yields nobody, loudly.
    LEDGER = "ledger"


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    keys: tuple[str, ...] = ()
    label: str = "全体居民"  # how staff read it back in previews and lists

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "keys": list(self.keys), "label": self.label}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(AudienceKind(data["kind"]), tuple(str(k) for k in data.get("keys", ())), data["label"])

    def int_keys(self) -> list[int]:
        return [int(k) for k in self.keys]


ALL_RESIDENTS = Audience(AudienceKind.ALL)


class ScheduleKind(StrEnum):
    ONCE = "once"
    CRON = "cron"


@dataclass(frozen=True)
class Schedule:
    """When a broadcast runs: once at `at`, or on a crontab within an optional seasonal window.

    The window is month-day bounds (`"03-01"`..`"05-31"`) repeated every year, so "weekly from March to May"
    is `cron="0 9 * * 1", season=("03-01", "05-31")`. A window may wrap the new year ("11-15".."02-28").
    `until` ends a recurring schedule for good. Times are read in `timezone` (the community's local time).
    """

    kind: ScheduleKind
    at: datetime | None = None
    cron: str | None = None
    season: tuple[str, str] | None = None
    until: datetime | None = None
    timezone: str = "Asia/Shanghai"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "at": self.at.isoformat() if self.at else None,
            "cron": self.cron,
            "season": list(self.season) if self.season else None,
            "until": self.until.isoformat() if self.until else None,
            "timezone": self.timezone,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        season = data.get("season")
        return cls(
            ScheduleKind(data["kind"]),
            at=datetime.fromisoformat(data["at"]) if data.get("at") else None,
            cron=data.get("cron"),
            season=(str(season[0]), str(season[1])) if season else None,
            until=datetime.fromisoformat(data["until"]) if data.get("until") else None,
            timezone=data.get("timezone") or "Asia/Shanghai",
        )


class BroadcastStatus(StrEnum):
    DRAFT = "draft"  # written, previewable, not sent
    APPROVED = "approved"  # scheduled: the planner turns each fire time into a run
    PAUSED = "paused"  # no new runs, and a run in progress stops handing out messages
    FINISHED = "finished"  # no more fire times (runs in progress still complete)
    CANCELLED = "cancelled"  # for good; undelivered messages are dropped

    @property
    def label(self) -> str:
        return {
            "draft": "草稿待审批",
            "approved": "已批准",
            "paused": "已暂停",
            "finished": "已完成排期",
            "cancelled": "已取消",
        }[self.value]


# Delivery priorities: a larger number is claimed first, so an alert jumps the queue.
PRIORITY_NORMAL = 0
PRIORITY_EMERGENCY = 100


@dataclass
class Broadcast:
    id: int | None
    title: str
    text: str
    topic: Topic
    audience: Audience
    schedule: Schedule
    status: BroadcastStatus = BroadcastStatus.DRAFT
    emergency: bool = False
    created_by: int | None = None  # person id; staff who get the run summaries
    approved_by: int | None = None
    campaign_key: str | None = None
    created_at: datetime | None = None
    next_run_at: datetime | None = None

    @property
    def priority(self) -> int:
        return PRIORITY_EMERGENCY if self.emergency else PRIORITY_NORMAL

    @property
    def respects_opt_out(self) -> bool:
        return not self.emergency

    def move(self, to: BroadcastStatus) -> None:
        """Change status if the lifecycle allows it; raise BroadcastRefused otherwise."""
        if to not in _MOVES[self.status]:
            raise BroadcastRefused("bad_state", f"{self.status} -> {to}")
        self.status = to


_MOVES: dict[BroadcastStatus, frozenset[BroadcastStatus]] = {
    BroadcastStatus.DRAFT: frozenset({BroadcastStatus.APPROVED, BroadcastStatus.CANCELLED}),
    BroadcastStatus.APPROVED: frozenset(
        {BroadcastStatus.PAUSED, BroadcastStatus.CANCELLED, BroadcastStatus.FINISHED}
    ),
    BroadcastStatus.PAUSED: frozenset({BroadcastStatus.APPROVED, BroadcastStatus.CANCELLED}),
    BroadcastStatus.FINISHED: frozenset({BroadcastStatus.CANCELLED}),
    BroadcastStatus.CANCELLED: frozenset(),
}


class BroadcastRefused(DomainError):
    """A broadcast request that cannot be done (bad state, bad schedule, unknown campaign or audience)."""


@dataclass(frozen=True)
class Campaign:
    """A ready-made message from the library (deploy/campaigns/*.md) or written by staff."""

    key: str
    title: str
    topic: Topic
    text: str
    audience: Audience | None = None
    schedule: Schedule | None = None


@dataclass(frozen=True)
class RunCounts:
    """Where the deliveries of one run (or a whole broadcast) stand."""

    total: int = 0
    pending: int = 0  # not yet claimed, or claimed and not yet answered
    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    cancelled: int = 0

    @property
    def remaining(self) -> int:
        return self.pending

    @property
    def done(self) -> int:
        return self.total - self.pending


@dataclass(frozen=True)
class FinishedRun:
    """A run whose every delivery has an outcome: staff are told how it went."""

    run_id: int
    broadcast_id: int
    title: str
    notify_chats: tuple[int, ...]
    counts: RunCounts = field(default_factory=RunCounts)


@dataclass(frozen=True)
class Preview:
    """What a broadcast would do if sent now: its text, who would get it, and when it runs next."""

    broadcast: Broadcast
    text: str
    recipients: int  # who would get it now (opt-outs removed unless it is an alert)
    opted_out: int
    next_times: tuple[datetime, ...]
