"""Unit blocks: ``issuance_total`` (the units of the whole issuance a share belongs to,
where the registry states it: JCM), issue 23.

Revision ID: 0010_issuance_total
Revises: 0009_block_numbering
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_issuance_total"
down_revision = "0009_block_numbering"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("unit_block") as batch:
        batch.add_column(sa.Column("issuance_total", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("unit_block") as batch:
        batch.drop_column("issuance_total")
