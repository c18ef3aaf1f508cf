"""statistics (issue 14): daily roll-ups, late orders, dirty days, the roll-up mark; three read indexes

- stats_days: one row per local day x dimension x key with the counters of handlers/statistics/metrics.py;
- stats_late_orders: late acceptances / resolutions by day (the monthly overdue list);
- stats_dirty_days, stats_marks: what the roll-up tick still has to do (the database is the clock);
- ix_order_events_at (the days a change touched; the orders a day touched), ix_checkins_day,
  ix_work_orders_compound_category_created (重复投诉: the same problem in the same compound).

On PostgreSQL the indexes are built inside the migration's transaction (writes to order_events wait
meanwhile: seconds on millions of events).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
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
    "first_time",
    "repeat",
    "checkins_asked",
    "checkins_answered",
    "deliveries",
    "delivered",
)


def upgrade() -> None:
    op.create_table(
        "stats_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in _COUNTS),
        sa.Column("accept_minutes", sa.JSON(), nullable=False),
        sa.Column("resolve_minutes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day", "dimension", "key", name=op.f("pk_stats_days")),
    )
    op.create_table(
        "stats_late_orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_late_orders")),
    )
    with op.batch_alter_table("stats_late_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stats_late_orders_day"), ["day"], unique=False)
    op.create_table(
        "stats_dirty_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_stats_dirty_days")),
    )
    op.create_table(
        "stats_marks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stats_marks")),
    )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index("ix_order_events_at", ["at"], unique=False)
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index("ix_checkins_day", ["day"], unique=False)
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_work_orders_compound_category_created",
            ["compound_id", "category", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_work_orders_compound_category_created")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_day")
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index("ix_order_events_at")
    op.drop_table("stats_marks")
    op.drop_table("stats_dirty_days")
    with op.batch_alter_table("stats_late_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stats_late_orders_day"))
    op.drop_table("stats_late_orders")
    op.drop_table("stats_days")
