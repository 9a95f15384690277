"""Reconciliation: the crosswalk of project ids, as the last run built it.

Revision ID: 0008_project_link
Revises: 0007_reconcile
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_project_link"
down_revision = "0007_reconcile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_link",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("a_registry", sa.String(length=64), nullable=False),
        sa.Column("a_project", sa.String(length=128), nullable=False),
        sa.Column("b_registry", sa.String(length=64), nullable=False),
        sa.Column("b_project", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_project_link_a", "project_link", ["a_registry", "a_project"])
    op.create_index("ix_project_link_b", "project_link", ["b_registry", "b_project"])


def downgrade() -> None:
    op.drop_index("ix_project_link_b", table_name="project_link")
    op.drop_index("ix_project_link_a", table_name="project_link")
    op.drop_table("project_link")
