"""Tables of the staff desk: login links, server-side sessions, login attempts, the audit log, recorded reports.

The desk's list and search indexes on `work_orders` and `residents` are declared here too (they serve only
the desk): an `Index` built on another table's columns attaches to that table, so migrations stay in step.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, TZDateTime
from storage.models.community import ResidentRow
from storage.models.workorders import WorkOrderRow


class DeskLoginLinkRow(Base):
    """A single-use login link; only the hash of its token is kept."""

    __tablename__ = "desk_login_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)
    used_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class DeskSessionRow(Base):
    """A logged-in browser. `grants` is the person's roles and grid when it began: a change revokes it."""

    __tablename__ = "desk_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    grants: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class DeskLoginAttemptRow(Base):
    """One login attempt from an address (kept briefly): what the login rate limit counts."""

    __tablename__ = "desk_login_attempts"
    __table_args__ = (Index("ix_desk_login_attempts_source_at", "source", "at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(TZDateTime)


class DeskAuditRow(Base):
    """Append-only: who did what to which record and fields, when, from where. Never the data itself."""

    __tablename__ = "desk_audit"
    __table_args__ = (
        Index("ix_desk_audit_at", "at"),
        Index("ix_desk_audit_record", "record", "at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(TZDateTime)
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))  # view | reveal | export | change | login | logout
    record: Mapped[str] = mapped_column(String(64))  # e.g. "order:12", "resident:7", "orders"
    fields: Mapped[list[str]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")


class DeskRecordedReportRow(Base):
    """A report staff entered for a resident who phoned or came to the counter (代录)."""

    __tablename__ = "desk_recorded_reports"
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True, autoincrement=False)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime] = mapped_column(TZDateTime)
    channel: Mapped[str] = mapped_column(String(16))  # phone | counter
    address: Mapped[str] = mapped_column(String(200), default="")


class DeskSiteRow(Base):
    """Where the desk is published (one row, written by `gridbot web` at start): `/desk` in chat links there."""

    __tablename__ = "desk_site"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    public_url: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(TZDateTime)


# Desk lists: a grid's orders newest first (grid leaders and members see only theirs), and lookup by phone.
Index("ix_work_orders_grid_id_id", WorkOrderRow.grid_id, WorkOrderRow.id)
Index("ix_residents_phone", ResidentRow.phone)
