"""回访 (issue 15 item 4): unrated orders are reminded, closed as 未评价 and followed up by phone.

- followups: one row per order the timer closed unrated; staff page through the pending ones (partial index)
  and record the call's result (the rating itself is a RATED event by the staff member).
- stats_days.unrated / phone_rated: closed without any rating (未评价), and ratings from a phone follow-up.
  Every day already rolled up is marked to recompute, so orders staff closed unrated on the desk before this
  revision are counted too.
- Orders already waiting for a rating get their rating timer now: a reminder at the next tick, closed
  unrated `rating.close_after` after their resolution.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02 12:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PENDING = sa.text("done_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "followups",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_followups_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_followups")),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_followups_pending", ["order_id"], unique=False, postgresql_where=PENDING, sqlite_where=PENDING
        )
    with op.batch_alter_table("stats_days", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unrated", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("phone_rated", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "INSERT INTO stats_dirty_days (day) SELECT DISTINCT day FROM stats_days"
        " WHERE day NOT IN (SELECT day FROM stats_dirty_days)"
    )
    orders = sa.table(
        "work_orders",
        sa.column("state", sa.String()),
        sa.column("next_timer_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        orders.update()
        .where(orders.c.state == "resolved", orders.c.next_timer_at.is_(None))
        .values(next_timer_at=datetime.now(UTC))
    )


def downgrade() -> None:
    op.execute("UPDATE work_orders SET next_timer_at = NULL WHERE state = 'resolved'")
    with op.batch_alter_table("stats_days", schema=None) as batch_op:
        batch_op.drop_column("phone_rated")
        batch_op.drop_column("unrated")
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index("ix_followups_pending", postgresql_where=PENDING, sqlite_where=PENDING)
    op.drop_table("followups")
