"""The feed's tables: webhook subscribers and the delivery outbox.

``webhook_subscriber`` has one row per ``[[webhooks]]`` table ever configured, keyed by a hash
of its URL; ``enqueued_through`` is the id of the last ``alert_event`` copied into the outbox
for it. ``webhook_outbox`` has one row per (subscriber, event): its state (``pending``,
``delivered``, ``skipped`` by the subscriber's filters, or ``failed`` after the last attempt),
the attempts made, when the next one is due, and the lease of the daemon delivering it now.

The alembic migration ``0004_feed`` creates exactly these tables; keep the two in step.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["OutboxState", "WebhookOutboxRow", "WebhookSubscriberRow"]

_ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class OutboxState:
    """The values of ``webhook_outbox.state``."""

    PENDING = "pending"
    DELIVERED = "delivered"
    SKIPPED = "skipped"
    FAILED = "failed"


class WebhookSubscriberRow(SQLModel, table=True):
    """One webhook subscriber and how far its outbox has been filled."""

    __tablename__ = "webhook_subscriber"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    url: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    enqueued_through: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class WebhookOutboxRow(SQLModel, table=True):
    """One event to deliver to one subscriber."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        sa.UniqueConstraint("subscriber_id", "event_id", name="uq_webhook_outbox_event"),
        sa.Index("ix_webhook_outbox_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(_ID_TYPE, primary_key=True, autoincrement=True),
    )
    subscriber_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    event_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    state: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    next_attempt_at: datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
    lease_owner: str | None = Field(default=None, sa_column=sa.Column(sa.String(128)))
    lease_until: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    delivered_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    last_status: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
