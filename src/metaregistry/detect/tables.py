"""Detection's tables: alerts, their sides and events, links between blocks, runs.

The alembic migration ``0003_detect`` creates exactly these tables; a test compares them.

``alert``: one row per alert, current state. ``id`` is stable (``al_`` + 24 hex, see
:mod:`metaregistry.detect.findings`); ``kind`` one of ``double_issuance``, ``double_use``,
``use_after_transfer``, ``quantity_mismatch``, ``internal_overlap``; ``severity`` ``low`` <
``medium`` < ``high`` < ``critical``; ``status`` ``open``, ``acknowledged`` or ``resolved``;
``registry_a``/``registry_b`` the registries of the two sides (equal for an internal overlap;
for a directed pattern ``a`` is the source); ``overlap_start``/``overlap_end`` the first and
last unit the alert is about in (``scheme``, ``scope``) and ``overlap_size`` the units of that
span the alert is about (the units both sides claim, and for a quantity mismatch also the
excess: ``detail.ranges`` are the shared units, ``detail.excess`` the excess; a gap between
two ranges is not counted); for project-basis alerts the vintage and the units counted twice;
``sides`` (JSON text) a list of the records involved, each ``{"registry", "record_id",
"serial", "block_start", "block_end", "status", "role"}`` with ``role`` ``a`` or ``b``;
``detail`` (JSON text) ``{"ranges": [[start, end], ...], "rules": [...], "excess": [...]}``;
``opened_at`` is set once (first detection) and never changes; ``resolution`` is ``auto``
(a later detection found the pattern consistent or gone), ``withdrawn`` (a side was withdrawn)
or ``manual``. ``last_event_id`` is the newest event of the alert.

``alert_event``: every change of an alert, never updated or deleted. ``id`` is the database's
increasing integer: the feed's cursor (on PostgreSQL ids may commit out of order; the feed's
reader waits for older transactions, see :mod:`metaregistry.feed.events`). ``type`` is
``opened``, ``updated``, ``acknowledged``, ``resolved`` or ``reopened``; ``at`` the UTC time
(whole seconds); ``detail`` the canonical JSON of the alert as it was after the change;
``event_hash`` the SHA-256 of the RFC 8785 bytes of the event document
(:func:`metaregistry.detect.events.event_document`: ``alert_id``, ``type``, ``at``, ``alert``),
logged as an ``alert_event`` leaf whose ``event_id`` is the decimal ``id``.

``alert_side``: which records an alert involves (to find an alert from a record).
``block_link``: a legitimate move between two blocks (``kind`` ``conversion``, ``transition``,
``mirror``, ``tokenization``, ``compliance_move``, ``custody``), source and target, over a
range.
``detect_run``: one detection run and its counts; the last one's ``upto_version_id`` is where
``metaregistry detect`` (without ``--full``) continues.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "AlertEventRow",
    "AlertRow",
    "AlertSideRow",
    "BlockLinkRow",
    "DetectRunRow",
    "alert_event_table",
    "alert_side_table",
    "alert_table",
    "block_link_table",
    "detect_run_table",
]

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class AlertRow(SQLModel, table=True):
    """One alert, as it is now."""

    __tablename__ = "alert"
    __table_args__ = (
        sa.Index("ix_alert_opened", "opened_at", "id"),
        sa.Index("ix_alert_status", "status", "opened_at"),
        sa.Index("ix_alert_kind", "kind"),
        sa.Index("ix_alert_registry_a", "registry_a"),
        sa.Index("ix_alert_registry_b", "registry_b"),
        sa.Index("ix_alert_range", "scheme", "scope", "overlap_start"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    severity: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    scheme: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    scope: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    registry_a: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    registry_b: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    overlap_start: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    overlap_end: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    overlap_size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    explanation: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    sides: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    detail: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    opened_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    resolved_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    resolution: str | None = Field(default=None, sa_column=sa.Column(sa.String(16)))
    last_event_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class AlertSideRow(SQLModel, table=True):
    """One record an alert involves."""

    __tablename__ = "alert_side"
    __table_args__ = (sa.Index("ix_alert_side_record", "registry", "record_id"),)

    alert_id: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    registry_slug: str = Field(sa_column=sa.Column("registry", sa.String(64), primary_key=True))
    record_id: str = Field(sa_column=sa.Column(sa.String(256), primary_key=True))


class AlertEventRow(SQLModel, table=True):
    """One change of one alert. Never updated."""

    __tablename__ = "alert_event"
    __table_args__ = (sa.Index("ix_alert_event_alert", "alert_id", "id"),)

    id: int | None = Field(
        default=None, sa_column=sa.Column(_ID, primary_key=True, autoincrement=True)
    )
    alert_id: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    type: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    detail: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    event_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class BlockLinkRow(SQLModel, table=True):
    """A legitimate move of units from a source block to a target block."""

    __tablename__ = "block_link"
    __table_args__ = (
        sa.Index("ix_block_link_source", "source_registry", "source_record_id"),
        sa.Index("ix_block_link_target", "target_registry", "target_record_id"),
        sa.Index("ix_block_link_range", "scheme", "scope", "overlap_start"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    rule: str = Field(sa_column=sa.Column(sa.String(48), nullable=False))
    scheme: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    scope: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    source_registry: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    source_record_id: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    source_serial: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    target_registry: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    target_record_id: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    target_serial: str = Field(sa_column=sa.Column(sa.String(512), nullable=False))
    overlap_start: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    overlap_end: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    overlap_size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    explanation: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    first_seen_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class DetectRunRow(SQLModel, table=True):
    """One detection run."""

    __tablename__ = "detect_run"

    id: int | None = Field(
        default=None, sa_column=sa.Column(_ID, primary_key=True, autoincrement=True)
    )
    mode: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    started_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    finished_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    since_version_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    upto_version_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    blocks_checked: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    alerts_opened: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    alerts_updated: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    alerts_resolved: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    alerts_reopened: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    links: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


def _table(model: type[SQLModel]) -> sa.Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table


alert_table = _table(AlertRow)
alert_side_table = _table(AlertSideRow)
alert_event_table = _table(AlertEventRow)
block_link_table = _table(BlockLinkRow)
detect_run_table = _table(DetectRunRow)
