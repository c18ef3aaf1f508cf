"""Tables of broadcasts: campaigns, broadcasts, their runs, deliveries and opt-outs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, TZDateTime


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
