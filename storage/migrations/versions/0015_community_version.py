"""The community's version (issue 16 item 1): one number, bumped by the database on every change.

Each process keeps the community (settings, compounds, buildings, grids, routes, people) in memory and
reads only this number per update; a different number means someone changed the community (an `org
import`, /leave, a desk edit, an invite that binds a chat), in this process or another replica, and the
copy is loaded again. Triggers do the bumping, so no writer (the desk, a console, a hand-written UPDATE)
can forget it.

SQLite rebuilds a table for some ALTERs (`batch_alter_table`), which drops its triggers: a later migration
that does that to one of these tables must create its trigger again (tests/integration/test_community_cache.py
checks every table at head).

Also ix_work_orders_open_due: the open orders by their acceptance deadline, for the overdue list (it walked
the whole table at 1,000,000 orders: ~250 ms).

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = ("compounds", "buildings", "grids", "people", "category_routes", "community_settings")
BUMP = "UPDATE community_version SET version = version + 1 WHERE id = 1"


OPEN_ORDER = sa.text("state IN ('new', 'assigned', 'accepted', 'resolved')")


def upgrade() -> None:
    op.create_index(
        "ix_work_orders_open_due",
        "work_orders",
        ["accept_due_at"],
        unique=False,
        postgresql_where=OPEN_ORDER,
        sqlite_where=OPEN_ORDER,
    )
    op.create_table(
        "community_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_version")),
    )
    op.execute("INSERT INTO community_version (id, version) VALUES (1, 1)")
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION gridbot_bump_community_version() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            for verb in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER bump_community_{table}_{verb.lower()} AFTER {verb} ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION gridbot_bump_community_version()"
                )
        return
    for table in TABLES:  # SQLite has row triggers only: community writes are few
        for verb in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER bump_community_{table}_{verb.lower()} AFTER {verb} ON {table} "
                f"BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    postgresql = op.get_context().dialect.name == "postgresql"
    for table in TABLES:
        for verb in ("insert", "update", "delete"):
            on = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER IF EXISTS bump_community_{table}_{verb}{on}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS gridbot_bump_community_version()")
    op.drop_table("community_version")
    op.drop_index("ix_work_orders_open_due", table_name="work_orders")
