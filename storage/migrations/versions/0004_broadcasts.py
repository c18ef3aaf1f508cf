"""broadcasts: definitions, runs, delivery ledger, opt-outs, campaign library (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", Id, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(length=24), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("approved_by", sa.BigInteger(), nullable=True),
        sa.Column("campaign_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index("ix_broadcasts_status_next_run_at", "broadcasts", ["status", "next_run_at"])
    op.create_table(
        "broadcast_runs",
        sa.Column("id", Id, nullable=False),
        sa.Column("broadcast_id", Id, nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_broadcast_runs_broadcast_id_broadcasts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_runs")),
        sa.UniqueConstraint("broadcast_id", "fire_at", name="uq_broadcast_runs_broadcast_fire_at"),
    )
    op.create_table(
        "broadcast_deliveries",
        sa.Column("id", Id, nullable=False),
        sa.Column("run_id", Id, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["broadcast_runs.id"], name=op.f("fk_broadcast_deliveries_run_id_broadcast_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_deliveries")),
        sa.UniqueConstraint("run_id", "chat_id", name="uq_broadcast_deliveries_run_chat"),
    )
    op.create_index(
        "ix_broadcast_deliveries_status_priority_id", "broadcast_deliveries", ["status", "priority", "id"]
    )
    op.create_index("ix_broadcast_deliveries_run_status", "broadcast_deliveries", ["run_id", "status"])
    op.create_table(
        "broadcast_opt_outs",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("topic", sa.String(length=24), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "topic", name=op.f("pk_broadcast_opt_outs")),
    )
    op.create_table(
        "campaigns",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=True),
        sa.Column("schedule", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_campaigns")),
    )


def downgrade() -> None:
    op.drop_table("campaigns")
    op.drop_table("broadcast_opt_outs")
    op.drop_index("ix_broadcast_deliveries_run_status", table_name="broadcast_deliveries")
    op.drop_index("ix_broadcast_deliveries_status_priority_id", table_name="broadcast_deliveries")
    op.drop_table("broadcast_deliveries")
    op.drop_table("broadcast_runs")
    op.drop_index("ix_broadcasts_status_next_run_at", table_name="broadcasts")
    op.drop_table("broadcasts")
