"""Detection: alerts, their sides and events, links between blocks, detection runs.

Revision ID: 0003_detect
Revises: 0002_log
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_detect"
down_revision = "0002_log"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("registry_a", sa.String(length=64), nullable=False),
        sa.Column("registry_b", sa.String(length=64), nullable=False),
        sa.Column("overlap_start", sa.BigInteger(), nullable=False),
        sa.Column("overlap_end", sa.BigInteger(), nullable=False),
        sa.Column("overlap_size", sa.BigInteger(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("sides", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_opened", "alert", ["opened_at", "id"], unique=False)
    op.create_index("ix_alert_status", "alert", ["status", "opened_at"], unique=False)
    op.create_index("ix_alert_kind", "alert", ["kind"], unique=False)
    op.create_index("ix_alert_registry_a", "alert", ["registry_a"], unique=False)
    op.create_index("ix_alert_registry_b", "alert", ["registry_b"], unique=False)
    op.create_index("ix_alert_range", "alert", ["scheme", "scope", "overlap_start"], unique=False)
    op.create_table(
        "alert_side",
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("registry", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", "registry", "record_id"),
    )
    op.create_index("ix_alert_side_record", "alert_side", ["registry", "record_id"], unique=False)
    op.create_table(
        "alert_event",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_event_alert", "alert_event", ["alert_id", "id"], unique=False)
    op.create_table(
        "block_link",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=48), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("source_registry", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=256), nullable=False),
        sa.Column("source_serial", sa.String(length=512), nullable=False),
        sa.Column("target_registry", sa.String(length=64), nullable=False),
        sa.Column("target_record_id", sa.String(length=256), nullable=False),
        sa.Column("target_serial", sa.String(length=512), nullable=False),
        sa.Column("overlap_start", sa.BigInteger(), nullable=False),
        sa.Column("overlap_end", sa.BigInteger(), nullable=False),
        sa.Column("overlap_size", sa.BigInteger(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_block_link_source",
        "block_link",
        ["source_registry", "source_record_id"],
        unique=False,
    )
    op.create_index(
        "ix_block_link_target",
        "block_link",
        ["target_registry", "target_record_id"],
        unique=False,
    )
    op.create_index(
        "ix_block_link_range", "block_link", ["scheme", "scope", "overlap_start"], unique=False
    )
    op.create_table(
        "detect_run",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since_version_id", sa.BigInteger(), nullable=False),
        sa.Column("upto_version_id", sa.BigInteger(), nullable=False),
        sa.Column("blocks_checked", sa.BigInteger(), nullable=False),
        sa.Column("alerts_opened", sa.Integer(), nullable=False),
        sa.Column("alerts_updated", sa.Integer(), nullable=False),
        sa.Column("alerts_resolved", sa.Integer(), nullable=False),
        sa.Column("alerts_reopened", sa.Integer(), nullable=False),
        sa.Column("links", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    for table in ("detect_run", "block_link", "alert_event", "alert_side", "alert"):
        op.drop_table(table)
