"""Reading alerts and alert events for the feed, from detection's ``alert`` and ``alert_event``.

Every reader of the feed that follows the event-id cursor (the pull endpoint, SSE, the
webhook outbox) goes through :func:`read_events`, which hands out events in ascending id
order and only settled ones (:mod:`metaregistry.feed.horizon`): never one that a later read
could place before it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

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

    def is_empty(self) -> bool:
        return not (self.registry or self.kind or self.severity or self.status)

    def matches(self, alert: Alert) -> bool:
        return (
            (not self.registry or bool(self.registry & alert.registries))
            and (not self.kind or alert.kind in self.kind)
            and (not self.severity or alert.severity in self.severity)
            and (not self.status or alert.status in self.status)
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as the feed shows it: ``data`` is its JSON form."""

    id: str
    kind: str
    severity: str
    status: str
    registries: frozenset[str]
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One change of one alert. ``data`` holds the event's own fields; ``alert`` is the
    alert as it is now (when the event is read), not as it was when the event happened."""

    id: int
    alert_id: str
    type: str
    at: datetime
    data: Mapping[str, Any]
    alert: Alert | None = field(default=None)

    def to_json(self, *, with_alert: bool = True) -> dict[str, Any]:
        out = {
            **self.data,
            "id": self.id,
            "alert_id": self.alert_id,
            "type": self.type,
            "at": iso(self.at),
        }
        if with_alert:
            out["alert"] = dict(self.alert.data) if self.alert is not None else None
        return out


def iso(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``; naive values (SQLite) are UTC by convention."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _jsonable(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if name in alert_tables.JSON_COLUMNS and isinstance(value, str):
        return json.loads(value)
    return value


def _alert(row: sa.RowMapping) -> Alert:
    data = {name: _jsonable(name, value) for name, value in row.items()}
    return Alert(
        id=str(row["id"]),
        kind=str(row[alert_tables.ALERT_KIND]),
        severity=str(row[alert_tables.ALERT_SEVERITY]),
        status=str(row[alert_tables.ALERT_STATUS]),
        registries=alert_tables.registries_of(data),
        data=data,
    )


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
        out.extend(_with_alerts(conn, rows, filter, limit - len(out)))
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


def _with_alerts(
    conn: sa.Connection,
    rows: Sequence[sa.RowMapping],
    filter: AlertFilter | None,
    want: int,
) -> list[AlertEvent]:
    alerts = _alerts_by_id(conn, {str(r[alert_tables.EVENT_ALERT_ID]) for r in rows})
    out: list[AlertEvent] = []
    for row in rows:
        event = _event(row, alerts.get(str(row[alert_tables.EVENT_ALERT_ID])))
        if (
            filter is None
            or filter.is_empty()
            or (event.alert is not None and filter.matches(event.alert))
        ):
            out.append(event)
            if len(out) == want:
                break
    return out


def read_event(conn: sa.Connection, event_id: int) -> AlertEvent | None:
    events = alert_tables.event_table()
    row = conn.execute(sa.select(events).where(events.c.id == event_id)).mappings().first()
    if row is None:
        return None
    alerts = _alerts_by_id(conn, {str(row[alert_tables.EVENT_ALERT_ID])})
    return _event(row, alerts.get(str(row[alert_tables.EVENT_ALERT_ID])))


def _event(row: sa.RowMapping, alert: Alert | None) -> AlertEvent:
    at = row[alert_tables.EVENT_AT]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    skip = {"id", alert_tables.EVENT_ALERT_ID, alert_tables.EVENT_TYPE, alert_tables.EVENT_AT}
    return AlertEvent(
        id=int(row["id"]),
        alert_id=str(row[alert_tables.EVENT_ALERT_ID]),
        type=str(row[alert_tables.EVENT_TYPE]),
        at=at,
        data={k: _jsonable(k, v) for k, v in row.items() if k not in skip},
        alert=alert,
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
    return alert, [_event(row, alert) for row in rows]


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
    return page, [_jsonable(name, last[name]) for name in alert_tables.ALERT_ORDER]
