"""Open alerts and detected links for lookups, read from detection's tables
(:mod:`metaregistry.detect.tables`): ``alert`` with ``alert_side`` (which records an alert
involves) and ``block_link`` (legitimate moves between blocks).

Detection owns the tables; this module only reads them, on the lookup's transaction. Until
they exist in the database the API answers without alerts (``Features.alerts``). An alert is
*open* until it is resolved: acknowledged alerts are still shown, with their status.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from metaregistry.api.queries import Db, Row

__all__ = ["PROJECT_ALERTS", "alerts_for", "alerts_of_project", "detected_links"]

#: Most alerts a project answer lists (newest first); the feed has them all.
PROJECT_ALERTS: Final = 100
_ALERT_COLUMNS: Final = (
    "a.id, a.kind, a.severity, a.status, a.registry_a, a.registry_b, a.scheme, a.scope,"
    " a.overlap_start, a.overlap_end, a.overlap_size, a.explanation, a.opened_at"
)
_FOR_RECORDS: Final = (
    f"SELECT s.registry AS side_registry, s.record_id AS side_record_id, {_ALERT_COLUMNS}"
    " FROM alert_side s JOIN alert a ON a.id = s.alert_id"
    " WHERE s.registry = :registry AND s.record_id IN ({in}) AND a.status <> 'resolved'"
    " ORDER BY a.opened_at, a.id"
)
_FOR_PROJECT: Final = (
    f"SELECT DISTINCT {_ALERT_COLUMNS} FROM unit_block b"
    " JOIN alert_side s ON s.registry = b.registry AND s.record_id = b.record_id"
    " JOIN alert a ON a.id = s.alert_id"
    " WHERE b.project_id = :project AND a.status <> 'resolved'"
    " ORDER BY a.opened_at DESC, a.id DESC LIMIT :limit"
)
_LINKS: Final = (
    "SELECT id, kind, source_registry, source_record_id, source_serial, target_registry,"
    " target_record_id, target_serial, overlap_start, overlap_end, explanation"
    " FROM block_link WHERE (source_registry = :registry AND source_record_id IN ({in}))"
    " OR (target_registry = :registry AND target_record_id IN ({in}))"
)


def _alert(row: Row) -> dict[str, Any]:
    opened = row["opened_at"]
    if isinstance(opened, datetime):
        opened = _iso(opened)
    elif isinstance(opened, str):
        # SQLite keeps "YYYY-MM-DD HH:MM:SS[.ffffff]" text, in UTC by convention.
        opened = _iso(datetime.fromisoformat(opened))
    return {
        "id": row["id"],
        "kind": row["kind"],
        "severity": row["severity"],
        "status": row["status"],
        "registries": [row["registry_a"], row["registry_b"]],
        "overlap": {
            "block_start": int(row["overlap_start"]),
            "block_end": int(row["overlap_end"]),
            "quantity": int(row["overlap_size"]),
        },
        "explanation": row["explanation"],
        "opened_at": opened,
    }


def _iso(value: datetime) -> str:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def _by_registry(keys: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for registry, record_id in keys:
        out.setdefault(registry, []).append(record_id)
    return out


def alerts_for(
    db: Db, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The open (not resolved) alerts that involve each (registry, record_id)."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in keys}
    for registry, ids in _by_registry(keys).items():
        for i in range(0, len(ids), 256):
            for row in db.in_rows(_FOR_RECORDS, ids[i : i + 256], registry=registry):
                out[(row["side_registry"], row["side_record_id"])].append(_alert(row))
    return out


def alerts_of_project(db: Db, project_id: str) -> list[dict[str, Any]]:
    """The newest open alerts involving any block of the project (at most PROJECT_ALERTS)."""
    rows = db.rows(_FOR_PROJECT, {"project": project_id, "limit": PROJECT_ALERTS})
    return [_alert(row) for row in rows]


def detected_links(
    db: Db, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Per block, the legitimate moves detection recorded from or to it (conversion,
    transition, mirror, tokenization, compliance move)."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in keys}
    seen: set[tuple[str, str]] = set()  # (link id, side): both ends may be in this page
    for registry, ids in _by_registry(keys).items():
        for i in range(0, len(ids), 256):
            for row in db.in_rows(_LINKS, ids[i : i + 256], registry=registry):
                for side, other in (("source", "target"), ("target", "source")):
                    key = (row[f"{side}_registry"], row[f"{side}_record_id"])
                    if key in out and (row["id"], side) not in seen:
                        seen.add((row["id"], side))
                        out[key].append(_link(row, side, other))
    return out


def _link(row: Row, side: str, other: str) -> dict[str, Any]:
    start, end = int(row["overlap_start"]), int(row["overlap_end"])
    return {
        "relation": row["kind"],
        "direction": "to" if side == "source" else "from",
        "registry": row[f"{other}_registry"],
        "record_id": row[f"{other}_record_id"],
        "serial": row[f"{other}_serial"],
        "status": None,
        "overlap": {"block_start": start, "block_end": end, "quantity": end - start + 1},
        "explanation": row["explanation"],
    }
