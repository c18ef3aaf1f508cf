"""the staff desk (issue 13): login links, server-side sessions, where it is published, login attempts, the audit log, recorded reports

Also two indexes the desk's lists need: a grid's orders newest first (grid leaders and members see only
their grid) and residents by phone (search, and linking a phoned-in report to a resident who uses the bot).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:13:14.244606
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "desk_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("record", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_audit")),
    )
    with op.batch_alter_table("desk_audit", schema=None) as batch_op:
        batch_op.create_index("ix_desk_audit_at", ["at"], unique=False)
        batch_op.create_index("ix_desk_audit_record", ["record", "at"], unique=False)

    op.create_table(
        "desk_login_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_login_attempts")),
    )
    with op.batch_alter_table("desk_login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_desk_login_attempts_source_at", ["source", "at"], unique=False)

    op.create_table(
        "desk_login_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_desk_login_links_person_id_people")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_desk_login_links")),
    )
    op.create_table(
        "desk_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("grants", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_desk_sessions_person_id_people")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_desk_sessions")),
    )
    with op.batch_alter_table("desk_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_sessions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "desk_recorded_reports",
        sa.Column(
            "order_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_desk_recorded_reports_order_id_work_orders")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["people.id"], name=op.f("fk_desk_recorded_reports_recorded_by_people")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_desk_recorded_reports")),
    )
    op.create_table(
        "desk_site",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("public_url", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_site")),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index("ix_residents_phone", ["phone"], unique=False)

    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index("ix_work_orders_grid_id_id", ["grid_id", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_work_orders_grid_id_id")

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_phone")

    op.drop_table("desk_site")
    op.drop_table("desk_recorded_reports")
    with op.batch_alter_table("desk_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_sessions_person_id"))

    op.drop_table("desk_sessions")
    op.drop_table("desk_login_links")
    with op.batch_alter_table("desk_login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_desk_login_attempts_source_at")

    op.drop_table("desk_login_attempts")
    with op.batch_alter_table("desk_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_desk_audit_record")
        batch_op.drop_index("ix_desk_audit_at")

    op.drop_table("desk_audit")
