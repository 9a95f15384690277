"""The webhook outbox: filling it from ``alert_event``, claiming due deliveries, recording
outcomes. Blocking database code; :mod:`metaregistry.feed.webhooks` runs it in a thread.

Filling needs nothing from detection: each subscriber has a cursor (``enqueued_through``) in
``webhook_subscriber``, and a pass copies the events after it into ``webhook_outbox`` (state
``pending``, or ``skipped`` when the subscriber's filters exclude the alert) and moves the
cursor, in one transaction under the subscriber row's lock. Events are read with
:func:`metaregistry.feed.events.read_events`, which never hands out an event that a later
read could place before the cursor, so none is skipped; the unique (subscriber, event) key
makes a second filler's insert a no-op.

Claiming takes due rows (pending, ``next_attempt_at`` passed, no live lease) and stamps them
with the daemon's name and a lease, in one short transaction: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so concurrent daemons take disjoint rows; on SQLite every write transaction
already holds the database's write lock (``BEGIN IMMEDIATE``). A daemon that dies keeps its
rows only until the lease ends; then any daemon takes them over. ``attempts`` counts claims,
so a delivery that crashes its daemon every time still runs out of attempts.

Time comes from the daemons' clocks: keep them in sync (NTP) and the lease well above the
request timeout (checked when the settings are read).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from metaregistry.feed.events import AlertEvent, AlertFilter, head, read_event, read_events
from metaregistry.feed.tables import OutboxState, WebhookOutboxRow, WebhookSubscriberRow
from metaregistry.settings import WebhookSettings

__all__ = ["Claim", "claim", "fill", "prune", "record_failure", "record_success", "register"]

log = logging.getLogger(__name__)

_outbox = WebhookOutboxRow.__table__  # type: ignore[attr-defined]
_subscriber = WebhookSubscriberRow.__table__  # type: ignore[attr-defined]
_MAX_ERROR = 500


@dataclass(frozen=True, slots=True)
class Claim:
    """One delivery this daemon now owns until ``lease_until``. ``event`` is None when the
    event row has disappeared (the delivery is then failed, not retried)."""

    outbox_id: int
    subscriber_id: str
    attempt: int
    event: AlertEvent | None


def _insert(conn: sa.Connection, table: sa.Table) -> sa.Insert:
    """An INSERT that skips rows whose key exists (a concurrent filler inserted it)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def register(conn: sa.Connection, hooks: Sequence[WebhookSettings], *, now: datetime) -> None:
    """Create the subscriber rows of hooks seen for the first time. A new subscriber starts
    after the newest event (``start = "latest"``) or at the beginning (``"earliest"``)."""
    if not hooks:
        return
    known = set(
        conn.execute(
            sa.select(_subscriber.c.id).where(_subscriber.c.id.in_([h.id for h in hooks]))
        ).scalars()
    )
    new = [h for h in hooks if h.id not in known]
    if not new:
        return
    latest = head(conn)
    rows = [
        {
            "id": h.id,
            "url": h.url,
            "enqueued_through": latest if h.start == "latest" else 0,
            "created_at": now,
        }
        for h in new
    ]
    conn.execute(_insert(conn, _subscriber), rows)


def fill(conn: sa.Connection, hook: WebhookSettings, *, now: datetime, limit: int) -> int:
    """Copy up to ``limit`` new events into ``hook``'s outbox; the number of events read."""
    query = sa.select(_subscriber.c.enqueued_through).where(_subscriber.c.id == hook.id)
    if conn.dialect.name == "postgresql":
        # Another daemon filling this subscriber holds the row: leave it to that one.
        query = query.with_for_update(skip_locked=True)
    cursor = conn.execute(query).scalar()
    if cursor is None:
        return 0
    events, through = read_events(conn, cursor, limit=limit)
    wanted = {e.id for e in events if e.alert is None or _filter_of(hook).matches(e.alert)}
    if events:
        rows = [
            {
                "subscriber_id": hook.id,
                "event_id": e.id,
                "state": OutboxState.PENDING if e.id in wanted else OutboxState.SKIPPED,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for e in events
        ]
        conn.execute(_insert(conn, _outbox), rows)
    if through != cursor:
        conn.execute(
            _subscriber.update().where(_subscriber.c.id == hook.id).values(enqueued_through=through)
        )
    return len(events)


def claim(
    conn: sa.Connection,
    subscriber_ids: Sequence[str],
    *,
    owner: str,
    now: datetime,
    lease: float,
    limit: int,
) -> list[Claim]:
    """Take up to ``limit`` due deliveries of these subscribers for ``owner``."""
    if not subscriber_ids:
        return []
    o = _outbox.c
    due = (
        sa.select(o.id, o.subscriber_id, o.event_id, o.attempts)
        .where(o.state == OutboxState.PENDING)
        .where(o.subscriber_id.in_(list(subscriber_ids)))
        .where(o.next_attempt_at <= now)
        .where(sa.or_(o.lease_until.is_(None), o.lease_until < now))
        .order_by(o.next_attempt_at, o.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(due).all()
    if not rows:
        return []
    until = now + timedelta(seconds=lease)
    claims: list[Claim] = []
    for row in rows:
        conn.execute(
            _outbox.update()
            .where(o.id == row.id)
            .values(lease_owner=owner, lease_until=until, attempts=row.attempts + 1)
        )
        claims.append(
            Claim(
                outbox_id=int(row.id),
                subscriber_id=str(row.subscriber_id),
                attempt=int(row.attempts) + 1,
                event=read_event(conn, int(row.event_id)),
            )
        )
    return claims


def record_success(conn: sa.Connection, outbox_id: int, *, status: int, now: datetime) -> None:
    """Mark a delivery done. Whoever holds the lease now, the receiver has the event."""
    conn.execute(
        _outbox.update()
        .where(_outbox.c.id == outbox_id)
        .where(_outbox.c.state == OutboxState.PENDING)
        .values(
            state=OutboxState.DELIVERED,
            delivered_at=now,
            last_status=status,
            last_error=None,
            lease_owner=None,
            lease_until=None,
        )
    )


def record_failure(
    conn: sa.Connection,
    outbox_id: int,
    *,
    owner: str,
    status: int | None,
    error: str,
    retry_at: datetime | None,
) -> bool:
    """Schedule the next attempt at ``retry_at``, or mark the delivery failed when None.
    False when ``owner`` lost the lease meanwhile (another daemon owns the row now)."""
    values: dict[str, object] = {
        "last_status": status,
        "last_error": error[:_MAX_ERROR],
        "lease_owner": None,
        "lease_until": None,
    }
    if retry_at is None:
        values["state"] = OutboxState.FAILED
    else:
        values["next_attempt_at"] = retry_at
    result = conn.execute(
        _outbox.update()
        .where(_outbox.c.id == outbox_id)
        .where(_outbox.c.state == OutboxState.PENDING)
        .where(_outbox.c.lease_owner == owner)
        .values(**values)
    )
    if result.rowcount == 0:
        log.warning("delivery %s: lease lost before its failure was recorded", outbox_id)
        return False
    return True


def prune(conn: sa.Connection, *, before: datetime) -> int:
    """Delete finished deliveries (delivered, skipped) created before ``before``; failed ones
    stay for an operator. Safe at any time: the subscriber cursors never go back."""
    result = conn.execute(
        _outbox.delete()
        .where(_outbox.c.state.in_([OutboxState.DELIVERED, OutboxState.SKIPPED]))
        .where(_outbox.c.created_at < before)
    )
    return int(result.rowcount or 0)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _filter_of(hook: WebhookSettings) -> AlertFilter:
    return AlertFilter(
        registry=hook.registry, kind=hook.kind, severity=hook.severity, status=hook.status
    )
