"""Alert events: the rows of ``alert_event``, their hashes, and their leaves in the log.

Every change of an alert is one event, written in the transaction that changes the alert,
and appended to the tamper-evident log in that same transaction as an ``alert_event`` leaf
(:class:`metaregistry.log.leaf.EventLeaf`, ``event_id`` = the decimal event id).

The **event document** is what ``event_hash`` covers::

    {"alert_id": "al_...", "type": "opened", "at": "2026-01-01T00:00:00Z", "alert": {...}}

``alert`` is the alert as it was after the change (:func:`alert_document`), stored as the
event's ``detail``; ``at`` is whole seconds in UTC. Anyone can rebuild the document from an
``alert_event`` row (:func:`event_document`) and check ``event_hash`` and the log leaf.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from metaregistry.canonical import canonicalize, hash_json
from metaregistry.detect.tables import alert_event_table

__all__ = [
    "EVENT_TYPES",
    "PendingEvent",
    "alert_document",
    "append_events",
    "event_document",
    "iso_seconds",
]

EVENT_TYPES = ("opened", "updated", "acknowledged", "resolved", "reopened")
_JSON_COLUMNS = ("sides", "detail")
_TIME_COLUMNS = ("opened_at", "updated_at", "resolved_at", "first_seen_at")


def iso_seconds(value: datetime) -> str:
    """RFC 3339, UTC, whole seconds, ``Z``; naive values (SQLite) are UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def alert_document(row: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
    """The public JSON of an ``alert`` row: JSON columns decoded, times as RFC 3339, the
    internal ``content_hash`` and ``last_event_id`` left out."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name in ("content_hash", "last_event_id"):
            continue
        if name in _JSON_COLUMNS and isinstance(value, str):
            out[name] = json.loads(value)
        elif name in _TIME_COLUMNS and value is not None:
            out[name] = iso_seconds(value if isinstance(value, datetime) else _parse(value))
        else:
            out[name] = value
    return out


def _parse(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def event_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed document of an ``alert_event`` row (see the module docstring)."""
    at = row["at"]
    return {
        "alert_id": row["alert_id"],
        "type": row["type"],
        "at": iso_seconds(at if isinstance(at, datetime) else _parse(at)),
        "alert": json.loads(row["detail"]),
    }


@dataclass(frozen=True, slots=True)
class PendingEvent:
    alert_id: str
    type: str
    at: datetime
    alert: dict[str, Any]


def append_events(conn: sa.Connection, events: Sequence[PendingEvent]) -> list[int]:
    """Insert events in order and log them; returns their ids (increasing)."""
    if not events:
        return []
    rows: list[dict[str, Any]] = []
    for event in events:
        if event.type not in EVENT_TYPES:
            raise ValueError(f"event type must be one of {EVENT_TYPES}, got {event.type!r}")
        at = event.at.astimezone(UTC).replace(microsecond=0)
        detail = canonicalize(event.alert).decode("utf-8")
        document = {
            "alert_id": event.alert_id,
            "type": event.type,
            "at": iso_seconds(at),
            "alert": event.alert,
        }
        rows.append(
            {
                "alert_id": event.alert_id,
                "type": event.type,
                "at": at,
                "detail": detail,
                "event_hash": hash_json(document),
            }
        )
    table = alert_event_table
    result = conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    ids = [int(r[0]) for r in result]
    _log(conn, [(str(i), row["event_hash"]) for i, row in zip(ids, rows, strict=True)])
    return ids


def _log(conn: sa.Connection, entries: list[tuple[str, str]]) -> None:
    """One ``alert_event`` leaf per event, in the caller's transaction."""
    from metaregistry.log import store as log_store
    from metaregistry.log.leaf import EventLeaf

    log_store.append_leaves(conn, [EventLeaf(event_id=i, event_hash=h) for i, h in entries])
