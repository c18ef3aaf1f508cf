"""Tables of the vulnerable-resident ledger (台账) and daily check-ins."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, TZDateTime


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
