"""history indexes: statistics, the "me too" check and open orders stay fast on years of orders (issue 7)

Measured by benchmarks/bench_load.py on 1,000,000 historical orders (5.9 M events), PostgreSQL:
- ix_work_orders_created_category: /stats orders opened since a date, by category (index-only scan);
- ix_work_orders_building_category_created: similar_open, run for every report ("me too");
- ix_work_orders_open_id: partial, open orders only, in id order (/orders for staff);
- ix_order_events_ratings: partial, rated/reopened events by time with their note (/stats satisfaction).

On PostgreSQL the indexes are built inside the migration's transaction (writes to the two tables wait
meanwhile: a few seconds on a million orders).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN_ORDER = sa.text("state IN ('new', 'assigned', 'accepted', 'resolved')")
RATING_EVENT = sa.text("kind IN ('rated', 'reopened')")


def upgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index("ix_work_orders_created_category", ["created_at", "category"], unique=False)
        batch_op.create_index(
            "ix_work_orders_building_category_created",
            ["building_id", "category", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_work_orders_open_id",
            ["id"],
            unique=False,
            postgresql_where=OPEN_ORDER,
            sqlite_where=OPEN_ORDER,
        )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_events_ratings",
            ["at", "kind", "note"],
            unique=False,
            postgresql_where=RATING_EVENT,
            sqlite_where=RATING_EVENT,
        )


def downgrade() -> None:
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index("ix_order_events_ratings")
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_work_orders_open_id")
        batch_op.drop_index("ix_work_orders_building_category_created")
        batch_op.drop_index("ix_work_orders_created_category")
