"""Index tables of the foundation: unit blocks (current and every version), raw payloads,
quarantine and sync bookkeeping.

Column types are portable (SQLite default, PostgreSQL in production). Block numbers are
64-bit (BigInteger). The alembic migration ``0001_foundation`` creates exactly these tables; a
test compares the migrations with this metadata.

``span_class`` makes "blocks of scheme S, scope C overlapping [a, b]" an index range query on
both databases: a block of class k has ``block_end - block_start < 2**k``, so any block of class
k that overlaps [a, b] starts in [a - 2**k + 1, b]. One range probe of the index
(scheme, scope, span_class, block_start) per class present, instead of a scan.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def span_class(block_start: int, block_end: int) -> int:
    """The smallest k with ``block_end - block_start < 2**k``."""
    return (block_end - block_start).bit_length()


class UnitBlockRow(SQLModel, table=True):
    """The current version of every unit block, one row per (registry, record_id)."""

    __tablename__ = "unit_block"
    __table_args__ = (
        sa.UniqueConstraint("registry", "record_id", name="uq_unit_block_key"),
        sa.Index("ix_unit_block_range", "scheme", "scope", "span_class", "block_start"),
        sa.Index("ix_unit_block_project", "project_id"),
        sa.Index("ix_unit_block_serial", "serial"),
    )

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    # SQLModel reserves the attribute name ``registry``; the column keeps the JSON name.
    registry_slug: str = Field(sa_column=sa.Column("registry", sa.String(64), nullable=False))
    record_id: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    serial: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    scheme: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    scope: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    block_start: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    block_end: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    span_class: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    quantity: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    project_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    vintage_start: str | None = Field(default=None, sa_column=sa.Column(sa.String(10)))
    vintage_end: str | None = Field(default=None, sa_column=sa.Column(sa.String(10)))
    country: str | None = Field(default=None, sa_column=sa.Column(sa.String(2)))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    status_date: str | None = Field(default=None, sa_column=sa.Column(sa.String(10)))
    origin: str | None = Field(default=None, sa_column=sa.Column(sa.String(512)))
    authorization_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(256)))
    authorized_purpose: str | None = Field(default=None, sa_column=sa.Column(sa.String(16)))
    corresponding_adjustment: str | None = Field(default=None, sa_column=sa.Column(sa.String(16)))
    first_transfer_date: str | None = Field(default=None, sa_column=sa.Column(sa.String(10)))
    itmo_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(256)))
    numbering: str | None = Field(default=None, sa_column=sa.Column(sa.String(8)))
    cross_refs: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    issuance_total: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    observed_at: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    raw_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    record_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    connector: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class UnitBlockVersionRow(SQLModel, table=True):
    """Every version of every unit block, the current one included. Never updated."""

    __tablename__ = "unit_block_version"
    __table_args__ = (
        sa.UniqueConstraint("registry", "record_id", "version", name="uq_unit_block_version"),
    )

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    registry_slug: str = Field(sa_column=sa.Column("registry", sa.String(64), nullable=False))
    record_id: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    content: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    record_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    raw_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    observed_at: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    connector: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class RawRecordRow(SQLModel, table=True):
    """Raw payloads as received (personal data stripped), keyed by their hash."""

    __tablename__ = "raw_record"

    raw_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    connector: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class QuarantineRow(SQLModel, table=True):
    """A record that failed validation or normalization, kept with its reason."""

    __tablename__ = "quarantine"
    __table_args__ = (
        sa.UniqueConstraint("connector", "raw_hash", name="uq_quarantine_raw"),
        sa.Index("ix_quarantine_open", "connector", "resolved_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    connector: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    stream: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    ref: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    raw_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    stage: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    error: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    attempts: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    resolved_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )


class SyncStateRow(SQLModel, table=True):
    """The committed cursor of one stream of one connector; written with its page."""

    __tablename__ = "sync_state"

    connector: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    stream: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    cursor: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    snapshot_run: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    updated_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class SyncRunRow(SQLModel, table=True):
    """One sync of one connector: who runs it, how far it got, how it ended."""

    __tablename__ = "sync_run"
    __table_args__ = (sa.Index("ix_sync_run_connector", "connector", "started_at"),)

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    connector: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    owner: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    heartbeat_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    finished_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    outcome: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    pages: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    records_seen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    records_written: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    quarantined: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    withdrawn: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    source_totals: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class SeenRow(SQLModel, table=True):
    """Which records a full snapshot run saw: bookkeeping outside the record itself, so that
    an unchanged resync rewrites no record. Rows of a run are deleted when it completes."""

    __tablename__ = "sync_seen"

    run_id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))
    registry_slug: str = Field(sa_column=sa.Column("registry", sa.String(64), primary_key=True))
    record_id: str = Field(sa_column=sa.Column(sa.String(256), primary_key=True))
