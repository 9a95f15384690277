"""Foundation: unit blocks and their versions, raw payloads, quarantine, sync bookkeeping.

Revision ID: 0001_foundation
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connector", "raw_hash", name="uq_quarantine_raw"),
    )
    op.create_index("ix_quarantine_open", "quarantine", ["connector", "resolved_at"], unique=False)
    op.create_table(
        "raw_record",
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("raw_hash"),
    )
    op.create_table(
        "sync_run",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("records_seen", sa.BigInteger(), nullable=False),
        sa.Column("records_written", sa.BigInteger(), nullable=False),
        sa.Column("quarantined", sa.BigInteger(), nullable=False),
        sa.Column("withdrawn", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("source_totals", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sync_run_connector", "sync_run", ["connector", "started_at"], unique=False)
    op.create_table(
        "sync_seen",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("registry", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "registry", "record_id"),
    )
    op.create_table(
        "sync_state",
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("snapshot_run", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", "stream"),
    )
    op.create_table(
        "unit_block",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("registry", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=512), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("block_start", sa.BigInteger(), nullable=False),
        sa.Column("block_end", sa.BigInteger(), nullable=False),
        sa.Column("span_class", sa.SmallInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=True),
        sa.Column("vintage_start", sa.String(length=10), nullable=True),
        sa.Column("vintage_end", sa.String(length=10), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_date", sa.String(length=10), nullable=True),
        sa.Column("origin", sa.String(length=512), nullable=True),
        sa.Column("authorization_id", sa.String(length=256), nullable=True),
        sa.Column("authorized_purpose", sa.String(length=16), nullable=True),
        sa.Column("corresponding_adjustment", sa.String(length=16), nullable=True),
        sa.Column("first_transfer_date", sa.String(length=10), nullable=True),
        sa.Column("itmo_id", sa.String(length=256), nullable=True),
        sa.Column("observed_at", sa.String(length=32), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("registry", "record_id", name="uq_unit_block_key"),
    )
    op.create_index("ix_unit_block_project", "unit_block", ["project_id"], unique=False)
    op.create_index(
        "ix_unit_block_range",
        "unit_block",
        ["scheme", "scope", "span_class", "block_start"],
        unique=False,
    )
    op.create_index("ix_unit_block_serial", "unit_block", ["serial"], unique=False)
    op.create_table(
        "unit_block_version",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("registry", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("observed_at", sa.String(length=32), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("registry", "record_id", "version", name="uq_unit_block_version"),
    )


def downgrade() -> None:
    for table in (
        "sync_seen",
        "sync_state",
        "sync_run",
        "quarantine",
        "raw_record",
        "unit_block_version",
        "unit_block",
    ):
        op.drop_table(table)
