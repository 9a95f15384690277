"""What the feed knows about detection's tables, in one place.

Detection owns ``alert`` and ``alert_event`` (``metaregistry.detect.tables``); the feed only
reads them, through the tables registered on the shared metadata, and names the few columns
it filters, orders or keys on here. Alerts are shown as detection's public JSON
(:func:`metaregistry.detect.events.alert_document`), so a column detection adds shows up in
the feed without a change here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from metaregistry.index.metadata import metadata

__all__ = [
    "ALERT_KIND",
    "ALERT_ORDER",
    "ALERT_SEVERITY",
    "ALERT_STATUS",
    "EVENT_ALERT_ID",
    "EVENT_AT",
    "EVENT_TYPE",
    "KINDS",
    "SEVERITIES",
    "STATUSES",
    "alert_table",
    "decode_order_key",
    "event_table",
    "registries_of",
    "registry_clause",
]

ALERT_TABLE = "alert"
EVENT_TABLE = "alert_event"

ALERT_KIND = "kind"
ALERT_SEVERITY = "severity"
ALERT_STATUS = "status"
#: Immutable columns, newest first, that order ``GET /v1/alerts`` (the last one is unique).
ALERT_ORDER: tuple[str, ...] = ("opened_at", "id")
#: The columns naming the registries of the two sides of an alert.
ALERT_REGISTRY_COLUMNS: tuple[str, ...] = ("registry_a", "registry_b")

#: Accepted values of the ``kind``, ``severity`` and ``status`` filters.
KINDS = frozenset(
    {"double_issuance", "double_use", "use_after_transfer", "quantity_mismatch", "internal_overlap"}
    # the Article 6 checks' kinds (issue 19, metaregistry.article6.checks)
    | {"authorization_exceeded", "unauthorized_use", "double_claim"}
)
SEVERITIES = frozenset({"low", "medium", "high", "critical"})
STATUSES = frozenset({"open", "acknowledged", "resolved"})

EVENT_ALERT_ID = "alert_id"
EVENT_TYPE = "type"
EVENT_AT = "at"
EVENT_HASH = "event_hash"
#: The event column holding the alert as it was after the change (JSON text).
EVENT_ALERT = "detail"


def alert_table() -> sa.Table:
    return metadata.tables[ALERT_TABLE]


def event_table() -> sa.Table:
    return metadata.tables[EVENT_TABLE]


def registry_clause(alerts: sa.Table, registries: Sequence[str]) -> sa.ColumnElement[bool]:
    return sa.or_(*(alerts.c[name].in_(registries) for name in ALERT_REGISTRY_COLUMNS))


def registries_of(alert: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(str(alert[n]) for n in ALERT_REGISTRY_COLUMNS if alert.get(n))


def decode_order_key(values: Sequence[Any]) -> list[Any] | None:
    """The sort key of a cursor back in column types (None when it does not fit)."""
    alerts = alert_table()
    if len(values) != len(ALERT_ORDER):
        return None
    out: list[Any] = []
    for name, value in zip(ALERT_ORDER, values, strict=True):
        column_type = alerts.c[name].type
        if isinstance(column_type, sa.DateTime):
            if not isinstance(value, str):
                return None
            try:
                out.append(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                return None
        elif isinstance(column_type, sa.Integer):
            if not isinstance(value, int) or isinstance(value, bool):
                return None
            out.append(value)
        else:
            if not isinstance(value, str):
                return None
            out.append(value)
    return out
