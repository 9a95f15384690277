"""Article 6 authorizations, current and every version (issue 19).

Revision ID: 0011_authorization
Revises: 0010_issuance_total
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_authorization"
down_revision = "0010_issuance_total"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "article6_authorization",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("registry", sa.String(length=64), nullable=False),
        sa.Column("authorization_id", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("host_party", sa.String(length=2), nullable=False),
        sa.Column("activity_id", sa.String(length=256), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("observed_at", sa.String(length=32), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("registry", "authorization_id", name="uq_authorization_key"),
    )
    op.create_index("ix_authorization_host", "article6_authorization", ["host_party"], unique=False)
    op.create_index(
        "ix_authorization_activity", "article6_authorization", ["activity_id"], unique=False
    )
    op.create_table(
        "article6_authorization_version",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("registry", sa.String(length=64), nullable=False),
        sa.Column("authorization_id", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("observed_at", sa.String(length=32), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("leaf_idx", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "registry", "authorization_id", "version", name="uq_authorization_version"
        ),
    )


def downgrade() -> None:
    op.drop_table("article6_authorization_version")
    op.drop_index("ix_authorization_activity", table_name="article6_authorization")
    op.drop_index("ix_authorization_host", table_name="article6_authorization")
    op.drop_table("article6_authorization")
