"""The tamper-evident log: leaves, perfect-subtree nodes, leaf-hash lookup, checkpoints.

Written to match ``metaregistry.log.tables`` exactly.

Revision ID: 0002_log
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_log"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_leaves",
        sa.Column(
            "idx",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("registry", sa.String(length=64), nullable=True),
        sa.Column("record_id", sa.String(length=255), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("idx"),
    )
    op.create_index(
        "ix_log_leaves_record",
        "log_leaves",
        ["registry", "record_id", "version"],
        unique=False,
        sqlite_where=sa.text("registry IS NOT NULL"),
        postgresql_where=sa.text("registry IS NOT NULL"),
    )
    op.create_index(
        "ix_log_leaves_event_id",
        "log_leaves",
        ["event_id"],
        unique=False,
        sqlite_where=sa.text("event_id IS NOT NULL"),
        postgresql_where=sa.text("event_id IS NOT NULL"),
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "log_leaf_hashes",
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("leaf_hash", "idx"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("log_checkpoints")
    op.drop_table("log_leaf_hashes")
    op.drop_table("log_nodes")
    op.drop_index("ix_log_leaves_event_id", table_name="log_leaves")
    op.drop_index("ix_log_leaves_record", table_name="log_leaves")
    op.drop_table("log_leaves")
