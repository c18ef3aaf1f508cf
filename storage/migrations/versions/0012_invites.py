"""Invite links (issue 15 item 1): people may be listed without a chat id until they join.

- people.chat_id: nullable. Someone the community file lists without a chat id gets an invite link
  (`gridbot org invite NAME`); opening it binds their chat. Nothing is routed to them before.
- invites: one row per link, keyed by the SHA-256 of its code (the code itself is never stored); a person
  or a resident-to-be (by name); single use, with an expiry.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=True)
    op.create_table(
        "invites",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("resident_name", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_invites_person_id_people")),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_invites")),
    )


def downgrade() -> None:
    op.drop_table("invites")
    # People who never joined have no chat id to keep: they go (as they would have been refused before).
    unjoined = "SELECT id FROM people WHERE chat_id IS NULL"
    op.execute(f"UPDATE grids SET leader_id = NULL WHERE leader_id IN ({unjoined})")
    op.execute(f"UPDATE people SET deputy_id = NULL WHERE deputy_id IN ({unjoined})")
    op.execute("DELETE FROM people WHERE chat_id IS NULL")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
