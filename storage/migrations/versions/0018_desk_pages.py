"""desk search at 1,000,000 orders (issue 13): trigram index on the order text, residents by name

Measured by benchmarks/bench_desk.py (`make bench-desk`) on 1,000,000 orders:
- ix_work_orders_text_trgm (PostgreSQL only): a GIN index of trigrams (pg_trgm, a trusted extension since
  PostgreSQL 13, so the database owner may create it) answers `text LIKE '%words%'` for words of three
  characters or more without reading every order; SQLite keeps scanning (it is for demos and tests);
- ix_residents_name: the desk's search by a resident's name (the phone has ix_residents_phone since 0008);
- ix_work_orders_open_created: partial, open orders only, newest first (the desk's list of open orders, with
  or without words to search for, never walks the closed history).

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

OPEN_ORDER = sa.text("state IN ('new', 'assigned', 'accepted', 'resolved')")
revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index("ix_residents_name", ["name"], unique=False)
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_work_orders_open_created",
            ["created_at", "id"],
            unique=False,
            postgresql_where=OPEN_ORDER,
            sqlite_where=OPEN_ORDER,
        )
    if op.get_bind().dialect.name == "postgresql":
        # In `public`, not in whatever schema comes first on the search path: an extension belongs to one
        # schema, and dropping that schema (a tenant's, a test's) would take every user's operators with it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        home = op.get_bind().exec_driver_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_trgm'"
        )
        schema = home.scalar_one()  # where it already was, if an earlier install put it elsewhere
        op.create_index(
            "ix_work_orders_text_trgm",
            "work_orders",
            ["text"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"text": f'"{schema}".gin_trgm_ops'},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_work_orders_text_trgm", table_name="work_orders")
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_work_orders_open_created")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_name")
