"""Unit blocks: ``numbering`` (``own``: quantities per project and vintage, never range
compared) and ``cross_refs`` (what a record names elsewhere), issue 16.

Revision ID: 0009_block_numbering
Revises: 0008_project_link
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_block_numbering"
down_revision = "0008_project_link"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("unit_block") as batch:
        batch.add_column(sa.Column("numbering", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("cross_refs", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("unit_block") as batch:
        batch.drop_column("cross_refs")
        batch.drop_column("numbering")
