"""Delivery priority (issue 17): urgent outbox rows (an emergency's advice and alerts) are claimed first;
work orders remember a possible emergency waiting for the resident's answer (issue 11 item 5).

- outbox.priority: handlers.messages.DeliveryPriority (0 normal, 100 urgent); existing rows are normal.
- work_orders.emergency_check: the resident was asked "是否正在发生危险"; the order's timer escalates it to
  the grid leader and staff when they do not answer.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"  # (no 0010: the input-size work truncates at the edge instead of widening columns)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency_check", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_column("emergency_check")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("priority")
