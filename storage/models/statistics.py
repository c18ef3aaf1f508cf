"""Tables of statistics: daily and monthly roll-ups, late orders, the days still to recompute, the roll-up's mark.

Also three indexes on other features' tables that the roll-up reads by (declared here so the feature that
needs them owns them): events by time (the days a change touched; the orders a day touched), check-ins by
day, and orders by compound + category + time (重复投诉: the same problem in the same compound).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, TZDateTime
from storage.models.care import CheckinRow
from storage.models.workorders import OrderEventRow, WorkOrderRow


def _count() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default="0")


class _Counted:
    """The additive counters of handlers/statistics/metrics.py and the two duration histograms."""

    new: Mapped[int] = _count()
    accepted: Mapped[int] = _count()
    resolved: Mapped[int] = _count()
    closed: Mapped[int] = _count()
    cancelled: Mapped[int] = _count()
    reopened: Mapped[int] = _count()
    returned: Mapped[int] = _count()
    transferred: Mapped[int] = _count()
    supervised: Mapped[int] = _count()
    escalated: Mapped[int] = _count()
    accept_judged: Mapped[int] = _count()
    accept_on_time: Mapped[int] = _count()
    resolve_judged: Mapped[int] = _count()
    resolve_on_time: Mapped[int] = _count()
    rated: Mapped[int] = _count()
    satisfied: Mapped[int] = _count()
    basically: Mapped[int] = _count()
    unsatisfied: Mapped[int] = _count()
    unrated: Mapped[int] = _count()  # closed without a rating (未评价; migration 0014)
    phone_rated: Mapped[int] = _count()  # rated by a staff member's phone follow-up (回访)
    first_time: Mapped[int] = _count()
    repeat: Mapped[int] = _count()
    checkins_asked: Mapped[int] = _count()
    checkins_answered: Mapped[int] = _count()
    deliveries: Mapped[int] = _count()
    delivered: Mapped[int] = _count()
    # sparse histograms {minutes bucket: count} (handlers/statistics/histogram.py)
    accept_minutes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resolve_minutes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StatsDayRow(_Counted, Base):
    """One local day x dimension x key."""

    __tablename__ = "stats_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)


class StatsMonthRow(_Counted, Base):
    """A calendar month's day rows summed (`month` is its first day), so a year's figures read ~12 rows per
    key instead of ~365. Kept only for months that have ended, and only read while built (StatsMonthState)."""

    __tablename__ = "stats_months"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)


class StatsMonthState(Base):
    """Whether a month's rows are the sum of its day rows now: a day's recomputation clears `built`, the
    roll-up tick rebuilds ended months; readers use a month's rows only while `built`."""

    __tablename__ = "stats_month_states"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    built: Mapped[bool] = mapped_column(default=False, server_default="0")


class StatsLateOrderRow(Base):
    """An order's late acceptance or resolution, on the day it happened (the monthly overdue list)."""

    __tablename__ = "stats_late_orders"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    order_id: Mapped[int] = mapped_column(Integer)  # no FK: a row of a derived table, replaced per day
    stage: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime] = mapped_column(TZDateTime)
    done_at: Mapped[datetime] = mapped_column(TZDateTime)


class StatsDirtyDayRow(Base):
    """A day whose rows must be recomputed; deleted in the transaction that recomputes it."""

    __tablename__ = "stats_dirty_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class StatsMarkRow(Base):
    """When the roll-up last looked for changed orders (name "rollup")."""

    __tablename__ = "stats_marks"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(TZDateTime)


Index("ix_order_events_at", OrderEventRow.at)
Index("ix_checkins_day", CheckinRow.day)
Index(
    "ix_work_orders_compound_category_created",
    WorkOrderRow.compound_id,
    WorkOrderRow.category,
    WorkOrderRow.created_at,
)
