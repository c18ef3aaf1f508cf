"""The classifier's labelled examples (issue 11 item 6, the learning loop).

- classification_labels: a message's text with the category a resident chose after `unknown`, or a grid
  member or staff corrected it to; who (actor kind and id) and when; the order and the resident whose words
  it is (erasure and retention delete the row); what the classifier said (category, confidence) and the
  learned model's vote (category, probability).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "classification_labels",
        sa.Column("id", _ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("resident_id", _ID, nullable=True),
        sa.Column("classifier_category", sa.String(length=32), nullable=False),
        sa.Column("classifier_confidence", sa.Float(), nullable=False),
        sa.Column("model_category", sa.String(length=32), nullable=False),
        sa.Column("model_probability", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_classification_labels_order_id_work_orders")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_classification_labels_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classification_labels")),
    )
    op.create_index(
        op.f("ix_classification_labels_order_id"), "classification_labels", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_classification_labels_resident_id"), "classification_labels", ["resident_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_classification_labels_resident_id"), table_name="classification_labels")
    op.drop_index(op.f("ix_classification_labels_order_id"), table_name="classification_labels")
    op.drop_table("classification_labels")
