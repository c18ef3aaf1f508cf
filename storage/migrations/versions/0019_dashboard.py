"""Monthly roll-ups for the dashboard (issue 14): a year's figures read ~12 month rows per key, not ~365 days.

- stats_months: a calendar month's day rows summed (the same counters and merged histograms);
- stats_month_states: whether a month's rows are current (`built`); recomputing a day clears it, the roll-up
  tick rebuilds months that have ended. Every month that already has day rows starts as not built, so the
  first tick after the upgrade builds them and nothing is read from a month row before that.

Revision ID: 0019
Revises: 0012
Create Date: 2026-12-02 12:40:00
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_COUNTS = (
    "new",
    "accepted",
    "resolved",
    "closed",
    "cancelled",
    "reopened",
    "returned",
    "transferred",
    "supervised",
    "escalated",
    "accept_judged",
    "accept_on_time",
    "resolve_judged",
    "resolve_on_time",
    "rated",
    "satisfied",
    "basically",
    "unsatisfied",
    "unrated",  # 0014 (回访) added these two to stats_days
    "phone_rated",
    "first_time",
    "repeat",
    "checkins_asked",
    "checkins_answered",
    "deliveries",
    "delivered",
)


def upgrade() -> None:
    op.create_table(
        "stats_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in _COUNTS),
        sa.Column("accept_minutes", sa.JSON(), nullable=False),
        sa.Column("resolve_minutes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("month", "dimension", "key", name=op.f("pk_stats_months")),
    )
    states = op.create_table(
        "stats_month_states",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("built", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_stats_month_states")),
    )
    days = op.get_bind().execute(sa.text("SELECT DISTINCT day FROM stats_days")).scalars()
    months = sorted({_month_of(day) for day in days})
    if months:
        op.bulk_insert(states, [{"month": month, "built": False} for month in months])


def _month_of(day: object) -> dt.date:
    """The first of the day's month (SQLite hands a date back as text in a raw query)."""
    value = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
    return value.replace(day=1)


def downgrade() -> None:
    op.drop_table("stats_month_states")
    op.drop_table("stats_months")
