"""The alert lifecycle: open, acknowledged, resolved; every change an event.

:func:`reconcile` brings the stored alerts and links of the checked part of the index in line
with what detection found there now:

* a new alert is ``opened``;
* a stored alert found again with different facts (sides, ranges, statuses, severity) is
  ``updated`` (an acknowledged alert stays acknowledged);
* a stored alert not found again is ``resolved`` automatically (``resolution`` ``auto``: the
  pattern became consistent, e.g. the source got cancelled for conversion, or it is gone; or
  ``withdrawn`` when one of its records was withdrawn);
* a resolved alert found again is ``reopened``; one resolved by hand is reopened only when its
  facts changed since (a person judged exactly those facts).

:func:`acknowledge` and :func:`resolve` are the changes by hand. All writers take the
detection lock (:func:`lock`) so that a hand change and a detection run never overwrite each
other; on SQLite the database write lock already serializes them.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa

from metaregistry.detect import driver
from metaregistry.detect.cluster import Key
from metaregistry.detect.events import PendingEvent, alert_document, append_events
from metaregistry.detect.findings import AlertDraft, LinkDraft
from metaregistry.detect.tables import alert_side_table, alert_table, block_link_table
from metaregistry.index.store import unit_block

__all__ = [
    "LINK_SIDES",
    "AlertNotFoundError",
    "AlertStateError",
    "Changes",
    "acknowledge",
    "alert_ids_of",
    "by_registry",
    "lock",
    "reconcile",
    "resolve",
]

#: Key of the PostgreSQL advisory lock held by every writer of alerts ("mrdet", 1).
DETECT_LOCK_KEY = 0x6D72_6465_7400_0001
_CHUNK = 500


class AlertNotFoundError(LookupError):
    """Raised when no alert has the given id."""


class AlertStateError(ValueError):
    """Raised when a change by hand does not apply to the alert's status (acknowledging a
    resolved alert)."""


@dataclass(slots=True)
class Changes:
    opened: int = 0
    updated: int = 0
    resolved: int = 0
    reopened: int = 0
    links: int = 0


def lock(conn: sa.Connection) -> None:
    """Serialize writers of alerts until the transaction ends (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": DETECT_LOCK_KEY})


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def by_registry(keys: Iterable[Key]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for registry, record_id in keys:
        out[registry].append(record_id)
    return out


#: Serial-basis findings compare unit ranges; project-basis ones (issue 17, see
#: :mod:`metaregistry.reconcile`) compare a project's quantities per registry and vintage and
#: are stored with the scheme ``project`` and the project key as scope.
BASIS_SERIAL: Final = "serial"
BASIS_PROJECT: Final = "project"
PROJECT_SCHEME: Final = "project"
#: Article 6 checks (issue 19, metaregistry.article6.checks): their alerts' scheme.
BASIS_ARTICLE6: Final = "article6"
ARTICLE6_SCHEME: Final = "article6"
_OWN_SCHEMES: Final = {BASIS_PROJECT: PROJECT_SCHEME, BASIS_ARTICLE6: ARTICLE6_SCHEME}


def basis_of(scheme: str) -> str:
    """The basis of a stored alert or link, from its scheme."""
    for basis, own in _OWN_SCHEMES.items():
        if scheme == own:
            return basis
    return BASIS_SERIAL


def _of_basis(table: sa.Table, basis: str) -> sa.ColumnElement[bool]:
    if basis in _OWN_SCHEMES:
        return table.c.scheme == _OWN_SCHEMES[basis]
    return table.c.scheme.not_in(list(_OWN_SCHEMES.values()))


def alert_ids_of(conn: sa.Connection, keys: Collection[Key]) -> set[str]:
    """The alerts with a side among ``keys``."""
    rows = driver.rows_of_keys(
        conn, alert_side_table.name, ("alert_id",), (("registry", "record_id"),), keys
    )
    return {r[0] for r in rows}


def _alerts(conn: sa.Connection, ids: Collection[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(ids)):
        stmt = sa.select(alert_table).where(alert_table.c.id.in_(chunk))
        out.update({r["id"]: dict(r) for r in conn.execute(stmt).mappings()})
    return out


def _side_keys(conn: sa.Connection, ids: Collection[str]) -> dict[str, set[Key]]:
    side = alert_side_table
    out: dict[str, set[Key]] = defaultdict(set)
    for chunk in _chunks(sorted(ids)):
        stmt = sa.select(side.c.alert_id, side.c.registry, side.c.record_id).where(
            side.c.alert_id.in_(chunk)
        )
        for alert_id, registry, record_id in conn.execute(stmt):
            out[alert_id].add((registry, record_id))
    return out


def _present(conn: sa.Connection, keys: Collection[Key]) -> set[Key]:
    """The keys whose current block exists and is not withdrawn."""
    out: set[Key] = set()
    for registry, ids in by_registry(keys).items():
        for chunk in _chunks(sorted(ids)):
            stmt = sa.select(unit_block.c.record_id).where(
                unit_block.c.registry == registry,
                unit_block.c.record_id.in_(chunk),
                unit_block.c.status != "withdrawn",
            )
            out.update((registry, r[0]) for r in conn.execute(stmt))
    return out


# Stored JSON columns and the content hash need a deterministic encoding, not RFC 8785 (the
# hashed event documents are canonicalized separately); the C encoder is many times faster.
_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def content_hash(draft: AlertDraft) -> str:
    """A digest of every fact of the alert: a change means an ``updated`` event."""
    return hashlib.sha256(_dumps(draft.content()).encode("utf-8")).hexdigest()


def _row_of(draft: AlertDraft, content_hash: str) -> dict[str, Any]:
    return {
        "id": draft.id,
        "kind": draft.kind,
        "severity": draft.severity,
        "scheme": draft.scheme,
        "scope": draft.scope,
        "registry_a": draft.registry_a,
        "registry_b": draft.registry_b,
        "overlap_start": draft.overlap_start,
        "overlap_end": draft.overlap_end,
        "overlap_size": draft.overlap_size,
        "explanation": draft.explanation,
        "sides": _dumps(draft.sides_json()),
        "detail": _dumps(draft.detail_json()),
        "content_hash": content_hash,
    }


class _Writer:
    """Collects the row changes and events of one reconcile, then writes them in bulk."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.sides: dict[str, list[Key]] = {}
        self.events: list[PendingEvent] = []

    def event(self, row: dict[str, Any], kind: str) -> None:
        self.events.append(PendingEvent(row["id"], kind, self.now, alert_document(row)))

    def flush(self, conn: sa.Connection) -> None:
        ids = append_events(conn, self.events)
        last = {e.alert_id: i for e, i in zip(self.events, ids, strict=True)}
        for row in self.inserts:
            row["last_event_id"] = last[row["id"]]
        for row in self.updates:
            row["last_event_id"] = last[row["id"]]
        if self.inserts:
            conn.execute(alert_table.insert(), self.inserts)
        if self.updates:
            _update(conn, self.updates)
        if self.sides:
            side = alert_side_table
            for chunk in _chunks(sorted(self.sides)):
                conn.execute(side.delete().where(side.c.alert_id.in_(chunk)))
            rows = [
                {"alert_id": alert_id, "registry": r, "record_id": k}
                for alert_id, keys in self.sides.items()
                for r, k in keys
            ]
            if rows:
                conn.execute(side.insert(), rows)


def _update(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_columns[tuple(sorted(row))].append({**row, "b_id": row["id"]})
    for columns, group in by_columns.items():
        stmt = (
            alert_table.update()
            .where(alert_table.c.id == sa.bindparam("b_id"))
            .values({c: sa.bindparam(c) for c in columns if c != "id"})
        )
        conn.execute(stmt, group)


def reconcile(
    conn: sa.Connection,
    drafts: Sequence[AlertDraft],
    links: Sequence[LinkDraft],
    *,
    scope: Collection[Key] | None,
    now: datetime | None = None,
    basis: str = BASIS_SERIAL,
) -> Changes:
    """Store what detection found. ``scope`` lists the records whose every alert and link
    was recomputed (None: the whole index); stored alerts and links of other records are
    left alone. ``basis`` says which findings were recomputed: serial detection's
    (``serial``, every scheme but ``project``) or project reconciliation's (``project``,
    alerts and links whose scheme is ``project``); the other basis is left alone. Call
    :func:`lock` first."""
    at = _now(now)
    changes = Changes()
    found = {d.id: d for d in drafts}
    if scope is None:
        stmt = sa.select(alert_table.c.id).where(
            alert_table.c.status != "resolved", _of_basis(alert_table, basis)
        )
        in_scope = {r[0] for r in conn.execute(stmt)}
        stored = _alerts(conn, in_scope | set(found))
    else:
        stored = _alerts(conn, alert_ids_of(conn, scope) | set(found))
        in_scope = {i for i, row in stored.items() if basis_of(row["scheme"]) == basis}
    writer = _Writer(at)
    for draft in found.values():
        digest = content_hash(draft)
        old = stored.get(draft.id)
        if (
            old is not None
            and old["content_hash"] == digest
            and (old["status"] != "resolved" or old["resolution"] == "manual")
        ):
            continue
        row = _row_of(draft, digest)
        if old is None:
            row.update(
                status="open", opened_at=at, updated_at=at, resolved_at=None, resolution=None
            )
            writer.inserts.append(row)
            writer.sides[draft.id] = sorted(draft.keys)
            writer.event(row, "opened")
            changes.opened += 1
            continue
        if old["status"] == "resolved":
            row.update(status="open", updated_at=at, resolved_at=None, resolution=None)
            kind = "reopened"
            changes.reopened += 1
        else:
            row.update(updated_at=at)
            kind = "updated"
            changes.updated += 1
        writer.updates.append(row)
        writer.sides[draft.id] = sorted(draft.keys)
        writer.event({**old, **row}, kind)
    gone = [i for i in in_scope if i not in found and stored[i]["status"] != "resolved"]
    sides = _side_keys(conn, gone)
    present = _present(conn, {k for keys in sides.values() for k in keys})
    for alert_id in sorted(gone):
        reason = "auto" if sides.get(alert_id, set()) <= present else "withdrawn"
        row = {
            "id": alert_id,
            "status": "resolved",
            "updated_at": at,
            "resolved_at": at,
            "resolution": reason,
        }
        writer.updates.append(row)
        writer.event({**stored[alert_id], **row}, "resolved")
        changes.resolved += 1
    writer.flush(conn)
    changes.links = _store_links(conn, links, scope, at, basis)
    return changes


def _link_row(link: LinkDraft, at: datetime) -> dict[str, Any]:
    return {
        "id": link.id,
        "kind": link.kind,
        "rule": link.rule,
        "scheme": link.scheme or link.source.scheme,
        "scope": link.scope if link.scheme else link.source.scope,
        "source_registry": link.source.registry,
        "source_record_id": link.source.record_id,
        "source_serial": link.source.serial,
        "target_registry": link.target.registry,
        "target_record_id": link.target.record_id,
        "target_serial": link.target.serial,
        "overlap_start": link.overlap_start,
        "overlap_end": link.overlap_end,
        "overlap_size": link.overlap_size,
        "explanation": link.explanation,
        "first_seen_at": at,
        "updated_at": at,
    }


#: The (registry, record_id) columns of a link's two sides.
LINK_SIDES = (
    ("source_registry", "source_record_id"),
    ("target_registry", "target_record_id"),
)
_LINK_FACTS = (
    "kind",
    "rule",
    "source_serial",
    "target_serial",
    "overlap_start",
    "overlap_end",
    "overlap_size",
    "explanation",
)


def _store_links(
    conn: sa.Connection,
    links: Sequence[LinkDraft],
    scope: Collection[Key] | None,
    at: datetime,
    basis: str = BASIS_SERIAL,
) -> int:
    table = block_link_table
    found = {link.id: _link_row(link, at) for link in links}
    stored: dict[str, dict[str, Any]] = {}
    if scope is None:
        stmt = sa.select(table).where(_of_basis(table, basis))
        stored = {r["id"]: dict(r) for r in conn.execute(stmt).mappings()}
    else:
        names = ("id", "scheme", *_LINK_FACTS)
        rows = driver.rows_of_keys(conn, table.name, names, LINK_SIDES, scope)
        stored = {r[0]: dict(zip(names, r, strict=True)) for r in rows if basis_of(r[1]) == basis}
        missing = [i for i in found if i not in stored]
        for chunk in _chunks(missing):
            stmt = sa.select(table).where(table.c.id.in_(chunk))
            stored.update({r["id"]: dict(r) for r in conn.execute(stmt).mappings()})
    stale = sorted(i for i in stored if i not in found)
    for chunk in _chunks(stale):
        conn.execute(table.delete().where(table.c.id.in_(chunk)))
    new = [row for i, row in found.items() if i not in stored]
    if new:
        conn.execute(table.insert(), new)
    changed = [
        {**{k: row[k] for k in _LINK_FACTS}, "updated_at": at, "b_id": i}
        for i, row in found.items()
        if i in stored and any(stored[i][k] != row[k] for k in _LINK_FACTS)
    ]
    if changed:
        update = (
            table.update()
            .where(table.c.id == sa.bindparam("b_id"))
            .values({k: sa.bindparam(k) for k in (*_LINK_FACTS, "updated_at")})
        )
        conn.execute(update, changed)
    return len(found)


def _change_by_hand(
    conn: sa.Connection, alert_id: str, status: str, now: datetime | None
) -> dict[str, Any] | None:
    lock(conn)
    stored = _alerts(conn, [alert_id]).get(alert_id)
    if stored is None:
        raise AlertNotFoundError(f"no alert with id {alert_id!r}")
    if stored["status"] == status:
        return None
    if status == "acknowledged" and stored["status"] == "resolved":
        raise AlertStateError(f"alert {alert_id} is resolved; it cannot be acknowledged")
    at = _now(now)
    row: dict[str, Any] = {"id": alert_id, "status": status, "updated_at": at}
    if status == "resolved":
        row.update(resolved_at=at, resolution="manual")
    writer = _Writer(at)
    writer.updates.append(row)
    writer.event({**stored, **row}, status)
    writer.flush(conn)
    return alert_document({**stored, **row, "last_event_id": 0})


def acknowledge(
    conn: sa.Connection, alert_id: str, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """Mark an open alert acknowledged; returns the alert, or None when it already was.
    Raises :class:`AlertNotFoundError`, :class:`AlertStateError` (resolved alerts)."""
    return _change_by_hand(conn, alert_id, "acknowledged", now)


def resolve(
    conn: sa.Connection, alert_id: str, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """Resolve an alert by hand; returns the alert, or None when it already was resolved.
    Raises :class:`AlertNotFoundError`."""
    return _change_by_hand(conn, alert_id, "resolved", now)
