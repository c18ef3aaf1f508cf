"""Tables of work orders: the orders, their history, numbering and conversation state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, TZDateTime

# Open work orders (handlers.domain.OrderState.is_open) and the events staff statistics count: literal
# predicates of partial indexes (a test checks they match the domain). Queries that should use those indexes
# spell the same values as literals (see storage.repositories.workorders), so PostgreSQL can prove the predicate.
OPEN_STATES = ("new", "assigned", "accepted", "resolved")
RATING_EVENT_KINDS = ("rated", "reopened")
OPEN_ORDER = text("state IN ('new', 'assigned', 'accepted', 'resolved')")
RATING_EVENT = text("kind IN ('rated', 'reopened')")
# Closed or cancelled orders whose free texts retention has not redacted yet (migration 0021).
OVER_STATES = ("closed", "cancelled")
TO_REDACT = text("state IN ('closed', 'cancelled') AND redacted_at IS NULL")
# Indexes that exist on PostgreSQL only (ddl_if): comparing the models with a SQLite schema leaves them out.
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_work_orders_text_trgm"})
# Indexes on an expression, made by their migration only (autogenerate cannot compare them): PostgreSQL's
# index of the text's bigrams for two-character searches (migration 0020).
MIGRATION_ONLY_INDEXES = frozenset({"ix_work_orders_text_bigrams"})


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
        # the overdue list: open orders by acceptance deadline (migration 0015)
        Index(
            "ix_work_orders_open_due", "accept_due_at", postgresql_where=OPEN_ORDER, sqlite_where=OPEN_ORDER
        ),
        # The desk's open orders newest first (its list goes by created_at, id; migration 0018).
        Index(
            "ix_work_orders_open_created",
            "created_at",
            "id",
            postgresql_where=OPEN_ORDER,
            sqlite_where=OPEN_ORDER,
        ),
        # Retention's next texts to redact by last change (migration 0021): never walks the redacted history.
        # The state leads so that SQLite, which has no statistics here, prefers it to the state index.
        Index(
            "ix_work_orders_to_redact",
            "state",
            "updated_at",
            postgresql_where=TO_REDACT,
            sqlite_where=TO_REDACT,
        ),
        # The desk's search for words of the text (LIKE '%…%') on PostgreSQL: trigrams (pg_trgm, migration
        # 0018; Chinese characters included). SQLite has no such index and scans.
        Index(
            "ix_work_orders_text_trgm",
            "text",
            postgresql_using="gin",
            postgresql_ops={"text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
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
    # When its free texts were redacted (retention, /deletedata); NULL while they are there.
    redacted_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime)
    accept_due_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # the one moment the scheduler looks at (indexed): reminder, escalation, or NULL
    next_timer_at: Mapped[datetime | None] = mapped_column(TZDateTime, index=True)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # A possible emergency waiting for the resident's answer (migration 0011).
    emergency_check: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
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
