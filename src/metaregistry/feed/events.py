"""Reading alerts and alert events for the feed, from detection's ``alert`` and ``alert_event``.

Every reader of the feed that follows the event-id cursor (the pull endpoint, SSE, the
webhook outbox) goes through :func:`read_events`, which hands out events in ascending id
order and only settled ones (:mod:`metaregistry.feed.horizon`): never one that a later read
could place before it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from metaregistry.detect.events import alert_document
from metaregistry.detect.lifecycle import basis_of
from metaregistry.feed import alert_tables
from metaregistry.feed.horizon import settled_head, settled_prefix

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertFilter",
    "head",
    "read_alert_with_events",
    "read_alerts",
    "read_event",
    "read_events",
]


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which alerts a reader wants; each field is a set of accepted values (empty: any).
    ``registry`` matches an alert when either side is in that registry."""

    registry: frozenset[str] = frozenset()
    kind: frozenset[str] = frozenset()
    severity: frozenset[str] = frozenset()
    status: frozenset[str] = frozenset()

    def matches(self, alert: Alert) -> bool:
        return (
            (not self.registry or bool(self.registry & alert.registries))
            and (not self.kind or alert.kind in self.kind)
            and (not self.severity or alert.severity in self.severity)
            and (not self.status or alert.status in self.status)
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as the feed shows it: ``data`` is its public JSON (detection's
    :func:`~metaregistry.detect.events.alert_document`)."""

    id: str
    kind: str
    severity: str
    status: str
    registries: frozenset[str]
    data: Mapping[str, Any]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Alert:
        return cls(
            id=str(document["id"]),
            kind=str(document[alert_tables.ALERT_KIND]),
            severity=str(document[alert_tables.ALERT_SEVERITY]),
            status=str(document[alert_tables.ALERT_STATUS]),
            registries=alert_tables.registries_of(document),
            data=document,
        )


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One change of one alert; ``alert`` is the alert as it was right after the change."""

    id: int
    alert_id: str
    type: str
    at: datetime
    event_hash: str
    alert: Alert

    def to_json(self, *, with_alert: bool = True) -> dict[str, Any]:
        """``{"id", "alert_id", "type", "at", "event_hash", "alert"}``. Without ``id``,
        it is the event document whose SHA-256 (RFC 8785) is ``event_hash``."""
        out: dict[str, Any] = {
            "id": self.id,
            "alert_id": self.alert_id,
            "type": self.type,
            "at": iso(self.at),
            "event_hash": self.event_hash,
        }
        if with_alert:
            out["alert"] = dict(self.alert.data)
        return out


def iso(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``; naive values (SQLite) are UTC by convention."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _alert(row: sa.RowMapping) -> Alert:
    """A current alert with its ``basis`` (``serial`` or ``project``, from its scheme). An
    event's alert is the logged document itself, whose scheme (``project`` or a unit
    scheme) says the same: adding a field there would break its ``event_hash``."""
    document = alert_document(row)
    document["basis"] = basis_of(str(document.get("scheme", "")))
    return Alert.from_document(document)


def head(conn: sa.Connection) -> int:
    """The id of the newest settled event (0 when there is none)."""
    return settled_head(conn)


def read_events(
    conn: sa.Connection,
    after: int,
    *,
    limit: int,
    filter: AlertFilter | None = None,
    newest_first: bool = False,
) -> tuple[list[AlertEvent], int]:
    """Up to ``limit`` settled events with id > ``after`` that pass ``filter``, oldest first,
    each with its alert; and the id to continue after. Requires ``limit >= 1``.

    The scan goes on past events the filter drops until ``limit`` have passed or no settled
    event is left, and the cursor moves past the dropped ones: an empty answer means caught
    up. With ``newest_first`` the newest matching events come instead, newest first (for the
    Atom feed; the cursor is then meaningless and returned unchanged)."""
    events = alert_tables.event_table()
    chunk = max(limit, 100)
    out: list[AlertEvent] = []
    cursor = after
    bound: int | None = None  # newest_first: the lowest id scanned so far
    while len(out) < limit:
        query = sa.select(events).where(events.c.id > after)
        if newest_first:
            if bound is not None:
                query = query.where(events.c.id < bound)
            query = query.order_by(events.c.id.desc())
        else:
            query = query.where(events.c.id > cursor).order_by(events.c.id.asc())
        rows = conn.execute(query.limit(chunk)).mappings().all()
        if not newest_first:
            # Cursor readers get settled events only; the Atom feed just shows the newest.
            rows = rows[: settled_prefix(conn, [int(r["id"]) for r in rows], cursor)]
        out.extend(_matching(rows, filter, limit - len(out)))
        if not rows:
            break
        if len(out) >= limit:
            if not newest_first:
                cursor = out[-1].id
            break
        if newest_first:
            bound = int(rows[-1]["id"])
        else:
            cursor = int(rows[-1]["id"])
        if len(rows) < chunk:
            break
    return out, cursor


def _matching(
    rows: Sequence[sa.RowMapping], filter: AlertFilter | None, want: int
) -> list[AlertEvent]:
    out: list[AlertEvent] = []
    for row in rows:
        event = _event(row)
        if filter is None or filter.matches(event.alert):
            out.append(event)
            if len(out) == want:
                break
    return out


def read_event(conn: sa.Connection, event_id: int) -> AlertEvent | None:
    events = alert_tables.event_table()
    row = conn.execute(sa.select(events).where(events.c.id == event_id)).mappings().first()
    return None if row is None else _event(row)


def _event(row: sa.RowMapping) -> AlertEvent:
    at = row[alert_tables.EVENT_AT]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return AlertEvent(
        id=int(row["id"]),
        alert_id=str(row[alert_tables.EVENT_ALERT_ID]),
        type=str(row[alert_tables.EVENT_TYPE]),
        at=at,
        event_hash=str(row[alert_tables.EVENT_HASH]),
        alert=Alert.from_document(json.loads(row[alert_tables.EVENT_ALERT])),
    )


def _alerts_by_id(conn: sa.Connection, ids: set[str]) -> dict[str, Alert]:
    if not ids:
        return {}
    alerts = alert_tables.alert_table()
    rows = conn.execute(sa.select(alerts).where(alerts.c.id.in_(sorted(ids)))).mappings().all()
    return {str(r["id"]): _alert(r) for r in rows}


def read_alert_with_events(
    conn: sa.Connection, alert_id: str
) -> tuple[Alert, list[AlertEvent]] | None:
    """The alert and its visible events, oldest first; None when there is no such alert."""
    alert = _alerts_by_id(conn, {alert_id}).get(alert_id)
    if alert is None:
        return None
    events = alert_tables.event_table()
    query = sa.select(events).where(events.c[alert_tables.EVENT_ALERT_ID] == alert_id)
    rows = conn.execute(query.order_by(events.c.id)).mappings().all()
    return alert, [_event(row) for row in rows]


def read_alerts(
    conn: sa.Connection, filter: AlertFilter, *, after: Sequence[Any] | None, limit: int
) -> tuple[list[Alert], list[Any] | None]:
    """One page of alerts matching ``filter``, in the order of ``alert_tables.ALERT_ORDER``
    (newest first), starting after the sort key ``after`` (in column types); and the sort
    key to continue after, or None on the last page. Keyset paging on immutable columns: a
    page never repeats or skips an alert, however alerts change status between pages."""
    alerts = alert_tables.alert_table()
    query = sa.select(alerts)
    for name, values in (
        (alert_tables.ALERT_KIND, filter.kind),
        (alert_tables.ALERT_SEVERITY, filter.severity),
        (alert_tables.ALERT_STATUS, filter.status),
    ):
        if values:
            query = query.where(alerts.c[name].in_(sorted(values)))
    if filter.registry:
        query = query.where(alert_tables.registry_clause(alerts, sorted(filter.registry)))
    keys = [alerts.c[name] for name in alert_tables.ALERT_ORDER]
    if after is not None:
        bound = [sa.literal(v, k.type) for v, k in zip(after, keys, strict=True)]
        query = query.where(sa.tuple_(*keys) < sa.tuple_(*bound))
    query = query.order_by(*[k.desc() for k in keys]).limit(limit + 1)
    rows = conn.execute(query).mappings().all()
    page = [_alert(r) for r in rows[:limit]]
    if len(rows) <= limit:
        return page, None
    last = rows[limit - 1]
    # The key keeps the stored precision: a rounded time would skip or repeat alerts.
    key = [last[name] for name in alert_tables.ALERT_ORDER]
    return page, [iso(v) if isinstance(v, datetime) else v for v in key]
