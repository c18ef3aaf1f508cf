"""The 回访 list: orders closed as 未评价 that staff are to phone, and what the call found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, TZDateTime

PENDING = text("done_at IS NULL")


class FollowupRow(Base):
    """One order closed unrated by the timer; `done_at` is set when staff record the phone call's result
    (the rating itself is the order's RATED event, by the staff member)."""

    __tablename__ = "followups"
    __table_args__ = (
        # The list staff page through: the few still to call, in order id order.
        Index("ix_followups_pending", "order_id", postgresql_where=PENDING, sqlite_where=PENDING),
    )
    order_id: Mapped[int] = mapped_column(Id, ForeignKey("work_orders.id"), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(TZDateTime)
    done_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    done_by: Mapped[int | None] = mapped_column(BigInteger)  # the staff member's person id
    result: Mapped[str | None] = mapped_column(String(16))  # a Satisfaction value
