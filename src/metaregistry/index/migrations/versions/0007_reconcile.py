"""Reconciliation: each registry's completeness in the index.

Revision ID: 0007_reconcile
Revises: 0004_feed
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_reconcile"
down_revision = "0004_feed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_coverage",
        sa.Column("registry", sa.String(length=64), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("registry"),
    )


def downgrade() -> None:
    op.drop_table("registry_coverage")
