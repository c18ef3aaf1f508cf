"""SQLAlchemy tables. Only storage/ knows them; repositories map rows to the core's domain types."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes, stored in UTC.

    SQLite keeps no offset and hands back naive values: normalising to UTC on the way in and marking UTC on
    the way out makes comparisons (due times, claims) correct on both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware one (the clock port gives those)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


TZDateTime = UTCDateTime()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class CompoundRow(Base):
    __tablename__ = "compounds"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    aliases: Mapped[list[str]] = mapped_column(default=list)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class BuildingRow(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("compound_id", "number", name="uq_buildings_compound_number"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"))
    number: Mapped[str] = mapped_column(String(16))
    units: Mapped[int] = mapped_column(Integer, default=0)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)


class GridRow(Base):
    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", use_alter=True))
    group_chat_id: Mapped[int | None] = mapped_column(BigInteger)


class PersonRow(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    roles: Mapped[list[str]] = mapped_column(default=list)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    on_leave: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    duty: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"days": [0..6], "start": "08:00", "end": ..}


class CategoryRouteRow(Base):
    __tablename__ = "category_routes"
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))


class CommunitySettingsRow(Base):
    """How the community works (assignment, SLAs, check-in time): one row, replaced by `org import`."""

    __tablename__ = "community_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column()


class ResidentRow(Base):
    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    consented_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    unit: Mapped[str | None] = mapped_column(String(8))
    room: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(32))
    phone_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    checkin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


# Open work orders (handlers.domain.OrderState.is_open) and the events staff statistics count: literal
# predicates of partial indexes (a test checks they match the domain). Queries that should use those indexes
# spell the same values as literals (see storage.repositories), so PostgreSQL can prove the predicate.
OPEN_STATES = ("new", "assigned", "accepted", "resolved")
RATING_EVENT_KINDS = ("rated", "reopened")
OPEN_ORDER = text("state IN ('new', 'assigned', 'accepted', 'resolved')")
RATING_EVENT = text("kind IN ('rated', 'reopened')")


class WorkOrderRow(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        Index("ix_work_orders_state_assignee", "state", "assignee_id"),
        Index("ix_work_orders_resident_created", "resident_id", "created_at"),
        # History (migration 0006, measured by benchmarks/bench_load.py on 1,000,000 orders):
        # /stats "opened since" by category, answered from the index alone;
        Index("ix_work_orders_created_category", "created_at", "category"),
        # the "me too" check on every report (same building or public space, category, recent);
        Index("ix_work_orders_building_category_created", "building_id", "category", "created_at"),
        # the ~2% still open, in id order (/orders for staff): never walks the closed history.
        Index("ix_work_orders_open_id", "id", postgresql_where=OPEN_ORDER, sqlite_where=OPEN_ORDER),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    building_number: Mapped[str | None] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(8))
    room: Mapped[str | None] = mapped_column(String(8))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    keywords: Mapped[list[str]] = mapped_column(default=list)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    category_chosen_by_resident: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)
    accept_due_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # the one moment the scheduler looks at (indexed): reminder, escalation, or NULL
    next_timer_at: Mapped[datetime | None] = mapped_column(TZDateTime, index=True)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    green_channel: Mapped[str] = mapped_column(String(64), default="", server_default="")
    followers: Mapped[list[int]] = mapped_column(
        JSON, default=list, server_default="[]"
    )  # resident ids who joined ("me too")


class OrderEventRow(Base):
    __tablename__ = "order_events"
    __table_args__ = (
        # /stats satisfaction and reopenings since a date: a small index (~6% of events) that answers
        # the aggregate alone (migration 0006).
        Index(
            "ix_order_events_ratings",
            "at",
            "kind",
            "note",
            postgresql_where=RATING_EVENT,
            sqlite_where=RATING_EVENT,
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(TZDateTime)
    kind: Mapped[str] = mapped_column(String(24))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")


class OrderCounterRow(Base):
    __tablename__ = "order_counters"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class MessageLinkRow(Base):
    __tablename__ = "message_links"
    __table_args__ = (Index("ix_message_links_chat_order", "chat_id", "order_id"),)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))


class ConversationRow(Base):
    __tablename__ = "conversations"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)


class InboundRow(Base):
    """Keys of updates already handled: the exactly-once ledger."""

    __tablename__ = "inbound_seen"
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(TZDateTime)


class OutboxRow(Base):
    """Messages to send, written in the same transaction as the change that caused them."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_id", "status", "id"),
        Index("ix_outbox_chat_status", "chat_id", "status"),  # "is this chat being sent to?" per claim
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column()
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # The lease of a row in "sending": which process took it and when (a dead one's rows go back).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class TelegramUpdateRow(Base):
    """Raw Telegram updates, journaled before they are acknowledged (offset advanced / webhook answered).

    `handled_at` is set once the core has handled the update; rows without it are replayed at start-up.
    """

    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_handled_at", "handled_at"),)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(TZDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # Failed handlings so far; at the limit the update is given up (handled_at set) instead of replayed forever.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class UnreachableChatRow(Base):
    """Chats Telegram refused with 403 (bot blocked, kicked from a group): nothing is sent until they write again."""

    __tablename__ = "unreachable_chats"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    since: Mapped[datetime] = mapped_column(TZDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")


# ----------------------------------------------------------------------------- broadcasts (issue 6)


class BroadcastRow(Base):
    """A broadcast staff created: what, to whom, when, and where it stands."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_next_run_at", "status", "next_run_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(24))
    audience: Mapped[dict[str, Any]] = mapped_column()
    schedule: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(12))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # person id (no FK: people may be re-imported)
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    campaign_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class BroadcastRunRow(Base):
    """One firing of a broadcast: the text as sent and its recipients, fixed when it was planned."""

    __tablename__ = "broadcast_runs"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "fire_at", name="uq_broadcast_runs_broadcast_fire_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"))
    fire_at: Mapped[datetime] = mapped_column(TZDateTime)
    text: Mapped[str] = mapped_column(Text)
    total: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="sending")  # sending | done
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class BroadcastDeliveryRow(Base):
    """The delivery ledger: one row per (run, chat); senders claim rows and record each outcome."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("run_id", "chat_id", name="uq_broadcast_deliveries_run_chat"),
        Index("ix_broadcast_deliveries_status_priority_id", "status", "priority", "id"),
        Index("ix_broadcast_deliveries_run_status", "run_id", "status"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("broadcast_runs.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # pending | sending (claimed) | sent | failed | unreachable | cancelled
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class BroadcastOptOutRow(Base):
    """A resident switched a topic off (/subscriptions). No row means subscribed."""

    __tablename__ = "broadcast_opt_outs"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    topic: Mapped[str] = mapped_column(String(24), primary_key=True)
    since: Mapped[datetime] = mapped_column(TZDateTime)


class CampaignRow(Base):
    """The campaign library, loaded from deploy/campaigns/*.md (and staff's own directory)."""

    __tablename__ = "campaigns"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)


# ----------------------------------------------------------------------------- care (issue 5)


class LedgerEntryRow(Base):
    """The vulnerable-resident ledger (台账): sensitive, shown only to staff and the resident's grid."""

    __tablename__ = "ledger_entries"
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id"), primary_key=True, autoincrement=False
    )
    kinds: Mapped[list[str]] = mapped_column()
    consent: Mapped[str] = mapped_column(String(12))
    registered_by: Mapped[int | None] = mapped_column(BigInteger)
    registered_at: Mapped[datetime] = mapped_column(TZDateTime)
    consent_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    note: Mapped[str] = mapped_column(Text, default="")


class CheckinRow(Base):
    """One day's 平安问候 for one resident; the unique key makes asking idempotent across replicas."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("resident_id", "day", name="uq_checkins_resident_day"),
        Index("ix_checkins_unanswered", "answered_at", "asked_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    day: Mapped[date] = mapped_column(Date)
    asked_at: Mapped[datetime] = mapped_column(TZDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    answer: Mapped[str | None] = mapped_column(String(12))
    alerted_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    alerted_people: Mapped[list[int]] = mapped_column(JSON, default=list)
