"""``metaregistry audit``: the operator's check of the whole index database against its log.

The verifier (``metaregistry verify``) checks what a server serves; the audit reads the
database itself and recomputes every stored fact from what the log binds:

* **log**: leaf indexes run 0, 1, 2 ... without gaps; each leaf's bytes hash to its stored
  leaf hash, parse as a canonical leaf, and agree with the leaf's lookup columns; the root of
  the first ``size`` leaves is the root of every stored checkpoint, whose note says that size
  and root and (given the key) is signed by it;
* **unit_block_version**: every version's content hashes to its ``record_hash``, is of its
  record, and is the block leaf the log holds for that version; every block leaf has its
  version row (a deleted version is listed);
* **unit_block**: every current row's content hashes to its ``record_hash``, equals the
  newest stored version (provenance included), and is that version's leaf; a record with
  versions but no current row is listed;
* **alert_event**: every event's document hashes to its ``event_hash``, which is the event's
  leaf in the log; every event leaf has its row;
* **alert**: every alert row is the alert as its newest event recorded it (the event's
  ``alert``), its sides are the records the alert names; an alert with events but no row is
  listed;
* **block_link**: links are not logged; they are what detection finds on the logged blocks.
  The audit runs detection over the index in memory (nothing is written) and compares: a
  link missing, added or edited is listed. (Skipped, and said, when records changed since the
  last detection run: then the two may differ honestly.)

Each disagreement is one :class:`Finding` naming the table, the row and what differs; the
command lists them and exits 1 when there is any. Cost: one pass over each table, the log's
leaf map in memory (about 200 bytes a leaf), and a full detection sweep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from metaregistry.canonical import hash_json
from metaregistry.log import merkle
from metaregistry.log.binding import describe_differences, differing_fields, record_hash_of
from metaregistry.log.checkpoint import verify_checkpoint
from metaregistry.log.compact import extend
from metaregistry.log.leaf import (
    AuthorizationLeaf,
    BlockLeaf,
    EventLeaf,
    LeafFormatError,
    parse_leaf,
)
from metaregistry.log.note import NoteError, Verifier
from metaregistry.log.store import as_bytes

__all__ = ["AuditReport", "Finding", "audit"]

_PAGE = 5000
#: Computed fields of a block the version's JSON keeps beside its content.
_PROVENANCE = ("raw_hash", "observed_at", "connector")


@dataclass(frozen=True)
class Finding:
    """One disagreement: ``table`` and ``key`` name the row, ``problem`` what differs."""

    table: str
    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.table} {self.key}: {self.problem}"


@dataclass
class AuditReport:
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, table: str, key: str, problem: str) -> None:
        self.findings.append(Finding(table, key, problem))

    @property
    def ok(self) -> bool:
        return not self.findings


def _pages(conn: sa.Connection, table: str, columns: str, key: str = "id") -> Iterator[Any]:
    """Every row of ``table`` in ``key`` order, by keyset pages."""
    last: Any = None
    while True:
        where = "" if last is None else f" WHERE {key} > :last"
        rows = (
            conn.execute(
                sa.text(f"SELECT {columns} FROM {table}{where} ORDER BY {key} LIMIT {_PAGE}"),
                {"last": last},
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        yield from rows
        last = rows[-1][key]


def _has_table(conn: sa.Connection, name: str) -> bool:
    return sa.inspect(conn).has_table(name)


# -- the log ---------------------------------------------------------------------------------


@dataclass
class _Leaves:
    blocks: dict[tuple[str, str, int], str] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
    #: Article 6 authorization leaves by leaf index (issue 19; checked by article6.audit)
    authorizations: dict[int, AuthorizationLeaf] = field(default_factory=dict)
    size: int = 0


def _check_log(conn: sa.Connection, report: AuditReport, verifier: Verifier | None) -> _Leaves:
    out = _Leaves()
    checkpoints = (
        conn.execute(
            sa.text("SELECT id, origin, size, root, note FROM log_checkpoints ORDER BY size, id")
        )
        .mappings()
        .all()
    )
    # Signatures are checked for the key's origin (checkpoints of an origin before a key
    # rotation were signed by the old key); roots are checked for every checkpoint.
    newest = max(checkpoints, key=lambda r: r["id"], default=None)
    signed_origin = (verifier.name if verifier is not None else None) or (
        newest["origin"] if newest is not None else None
    )
    for row in checkpoints:
        key = f"id {row['id']} (size {row['size']})"
        checked = verifier is not None and row["origin"] == signed_origin
        try:
            head = verify_checkpoint(row["note"], verifier) if checked and verifier else None
        except NoteError as exc:
            report.add("log_checkpoints", key, f"the note is not signed by the key: {exc}")
            head = None
        if head is not None and (head.size, head.root) != (int(row["size"]), as_bytes(row["root"])):
            report.add("log_checkpoints", key, "the signed note says another size or root")
    pending = [(int(r["size"]), as_bytes(r["root"]), r["id"]) for r in checkpoints]
    frontier: dict[int, bytes] = {}
    count = 0

    def check_roots() -> None:
        while pending and pending[0][0] <= count:
            size, root, ident = pending.pop(0)
            if size < count:
                continue  # reported by the index check below
            levels = [frontier[level] for level in sorted(frontier, reverse=True)]
            computed = merkle.range_hash(levels) if levels else merkle.EMPTY_ROOT
            if computed != root:
                report.add(
                    "log_checkpoints",
                    f"id {ident} (size {size})",
                    f"the first {size} leaves hash to {computed.hex()}, the checkpoint says "
                    f"{root.hex()}: a leaf below {size} was changed, removed or reordered",
                )

    check_roots()
    columns = "idx, leaf_hash, data, type, registry, record_id, version, event_id"
    for row in _pages(conn, "log_leaves", columns, key="idx"):
        index = int(row["idx"])
        if index != count:
            report.add("log_leaves", f"idx {count}", f"missing: indexes jump to {index}")
            break
        data = as_bytes(row["data"])
        computed = merkle.leaf_hash(data)
        if computed != as_bytes(row["leaf_hash"]):
            report.add("log_leaves", f"idx {index}", "its bytes do not hash to its leaf_hash")
        try:
            entry = parse_leaf(data)
        except LeafFormatError as exc:
            report.add("log_leaves", f"idx {index}", str(exc))
            entry = None
        if isinstance(entry, BlockLeaf):
            columns_say = (row["registry"], row["record_id"], row["version"])
            if columns_say != (entry.registry, entry.record_id, entry.version):
                report.add(
                    "log_leaves",
                    f"idx {index}",
                    f"its columns say {columns_say}, its "
                    f"bytes {entry.registry}/{entry.record_id} v{entry.version}",
                )
            out.blocks.setdefault(
                (entry.registry, entry.record_id, entry.version), entry.record_hash
            )
        elif isinstance(entry, AuthorizationLeaf):
            out.authorizations[index] = entry
        elif isinstance(entry, EventLeaf):
            if row["event_id"] != entry.event_id:
                report.add(
                    "log_leaves",
                    f"idx {index}",
                    f"its event_id column says {row['event_id']!r}, its bytes {entry.event_id!r}",
                )
            out.events.setdefault(entry.event_id, entry.event_hash)
        _, count = extend(frontier, count, [computed])
        check_roots()
    for size, _, ident in pending:
        report.add(
            "log_checkpoints",
            f"id {ident} (size {size})",
            f"covers {size} leaves, the log holds {count}",
        )
    out.size = count
    report.checked["log leaves"] = count
    report.checked["checkpoints"] = len(checkpoints)
    return out


# -- blocks ----------------------------------------------------------------------------------


def _check_versions(conn: sa.Connection, report: AuditReport, leaves: _Leaves) -> None:
    seen: set[tuple[str, str, int]] = set()
    count = 0
    columns = "id, registry, record_id, version, content, record_hash, raw_hash, observed_at"
    for row in _pages(conn, "unit_block_version", columns):
        count += 1
        key3 = (row["registry"], row["record_id"], int(row["version"]))
        seen.add(key3)
        name = f"{key3[0]}/{key3[1]} version {key3[2]}"
        try:
            content = json.loads(row["content"])
        except ValueError:
            report.add("unit_block_version", name, "its content is not JSON")
            continue
        if not isinstance(content, dict):
            report.add("unit_block_version", name, "its content is not a JSON object")
            continue
        if (content.get("registry"), content.get("record_id")) != key3[:2]:
            report.add("unit_block_version", name, "its content is of another record")
        if record_hash_of(content) != row["record_hash"]:
            report.add(
                "unit_block_version",
                name,
                f"its content does not hash to its record_hash {row['record_hash']}",
            )
        for column in ("record_hash", "raw_hash", "observed_at"):
            if column in content and content[column] != row[column]:
                report.add(
                    "unit_block_version",
                    name,
                    f"{column} is {row[column]!r} in the row, {content[column]!r} in its content",
                )
        logged = leaves.blocks.get(key3)
        if logged is None:
            report.add("unit_block_version", name, "the log has no leaf for this version")
        elif logged != row["record_hash"]:
            report.add(
                "unit_block_version",
                name,
                f"record_hash is {row['record_hash']}, the "
                f"log's leaf for this version holds {logged}",
            )
    for key3 in sorted(leaves.blocks.keys() - seen):
        report.add(
            "unit_block_version",
            f"{key3[0]}/{key3[1]} version {key3[2]}",
            "the log holds this version, the row is missing (deleted)",
        )
    report.checked["versions"] = count


_CURRENT = (
    "SELECT b.*, v.content AS v_content, v.record_hash AS v_record_hash,"
    " v.connector AS v_connector,"
    " (SELECT MAX(m.version) FROM unit_block_version m WHERE m.registry = b.registry"
    " AND m.record_id = b.record_id) AS newest"
    " FROM unit_block b LEFT JOIN unit_block_version v ON v.registry = b.registry"
    " AND v.record_id = b.record_id AND v.version = b.version"
)


def _check_current(conn: sa.Connection, report: AuditReport, leaves: _Leaves) -> None:
    count = 0
    last = -1
    while True:
        rows = (
            conn.execute(
                sa.text(f"{_CURRENT} WHERE b.id > :last ORDER BY b.id LIMIT {_PAGE}"),
                {"last": last},
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        last = rows[-1]["id"]
        for row in rows:
            count += 1
            _check_row(report, row, leaves)
    orphans = conn.execute(
        sa.text(
            "SELECT DISTINCT v.registry, v.record_id FROM unit_block_version v WHERE NOT EXISTS"
            " (SELECT 1 FROM unit_block b WHERE b.registry = v.registry"
            " AND b.record_id = v.record_id) ORDER BY v.registry, v.record_id"
        )
    ).all()
    for registry, record_id in orphans:
        report.add(
            "unit_block",
            f"{registry}/{record_id}",
            "the record has logged versions, its current row is missing (deleted)",
        )
    report.checked["current rows"] = count


def _check_row(report: AuditReport, row: Any, leaves: _Leaves) -> None:
    version = int(row["version"])
    name = f"{row['registry']}/{row['record_id']} (version {version})"
    content: dict[str, Any] = {}
    if row["v_content"] is not None:
        try:
            loaded = json.loads(row["v_content"])
            content = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            content = {}
    if row["v_record_hash"] is None:
        report.add("unit_block", name, f"version {version} is not stored")
    elif content and differing_fields(row, content):
        report.add(
            "unit_block",
            name,
            "the row differs from its stored version: "
            + describe_differences(row, content, "the row", f"version {version}"),
        )
    if record_hash_of(row) != row["record_hash"]:
        report.add(
            "unit_block", name, f"its content does not hash to its record_hash {row['record_hash']}"
        )
    if row["v_record_hash"] is not None and row["v_record_hash"] != row["record_hash"]:
        report.add(
            "unit_block",
            name,
            f"record_hash is {row['record_hash']}, version {version} has {row['v_record_hash']}",
        )
    for column in _PROVENANCE:
        stored = row["v_connector"] if column == "connector" else content.get(column)
        if (column == "connector" or column in content) and stored != row[column]:
            report.add(
                "unit_block",
                name,
                f"{column} is {row[column]!r} in the row, {stored!r} in its version",
            )
    if row["newest"] is not None and int(row["newest"]) != version:
        report.add("unit_block", name, f"the newest stored version is {row['newest']}")
    logged = leaves.blocks.get((row["registry"], row["record_id"], version))
    if logged is None:
        report.add("unit_block", name, "the log has no leaf for this version")
    elif logged != row["record_hash"]:
        report.add(
            "unit_block",
            name,
            f"record_hash is {row['record_hash']}, the log's leaf "
            f"for version {version} holds {logged}",
        )


# -- detection -------------------------------------------------------------------------------


def _check_events(conn: sa.Connection, report: AuditReport, leaves: _Leaves) -> dict[str, Any]:
    """Events against the log; returns each alert's newest event row."""
    from metaregistry.detect.events import event_document

    newest: dict[str, Any] = {}
    seen: set[str] = set()
    count = 0
    for row in _pages(conn, "alert_event", "id, alert_id, type, at, detail, event_hash"):
        count += 1
        event_id = str(row["id"])
        seen.add(event_id)
        name = f"{event_id} (alert {row['alert_id']}, {row['type']})"
        try:
            computed = hash_json(event_document(row))
        except (ValueError, TypeError) as exc:
            report.add("alert_event", name, f"its document cannot be rebuilt: {exc}")
            computed = None
        if computed is not None and computed != row["event_hash"]:
            report.add(
                "alert_event",
                name,
                f"its document does not hash to its event_hash {row['event_hash']}",
            )
        logged = leaves.events.get(event_id)
        if logged is None:
            report.add("alert_event", name, "the log has no leaf for this event")
        elif logged != row["event_hash"]:
            report.add(
                "alert_event",
                name,
                f"event_hash is {row['event_hash']}, the log's leaf holds {logged}",
            )
        newest[row["alert_id"]] = row
    for event_id in sorted(leaves.events.keys() - seen, key=lambda i: (len(i), i)):
        report.add("alert_event", event_id, "the log holds this event, the row is missing")
    report.checked["alert events"] = count
    return newest


def _check_alerts(conn: sa.Connection, report: AuditReport, newest: dict[str, Any]) -> None:
    from metaregistry.detect.events import alert_document

    sides: dict[str, set[tuple[str, str]]] = {}
    for alert_id, registry, record_id in conn.execute(
        sa.text("SELECT alert_id, registry, record_id FROM alert_side")
    ):
        sides.setdefault(alert_id, set()).add((registry, record_id))
    seen: set[str] = set()
    count = 0
    for row in _pages(conn, "alert", "*"):
        count += 1
        alert_id = row["id"]
        seen.add(alert_id)
        event = newest.get(alert_id)
        if event is None:
            report.add("alert", alert_id, "no logged event records this alert")
            continue
        if int(row["last_event_id"]) != int(event["id"]):
            report.add(
                "alert",
                alert_id,
                f"last_event_id is {row['last_event_id']}, its newest event is {event['id']}",
            )
        served = alert_document(row)
        try:
            recorded = json.loads(event["detail"])
        except ValueError:
            recorded = {}
        differing = sorted(
            k for k in served.keys() | recorded.keys() if served.get(k) != recorded.get(k)
        )
        if differing:
            first = differing[0]
            report.add(
                "alert",
                alert_id,
                f"differs from its logged event {event['id']} in "
                f"{', '.join(differing)} ({first} is {served.get(first)!r} in the row, "
                f"{recorded.get(first)!r} in the event)",
            )
        named = {(s.get("registry"), s.get("record_id")) for s in recorded.get("sides") or []}
        if named and sides.get(alert_id, set()) != named:
            report.add("alert_side", alert_id, "its rows are not the records the alert names")
    for alert_id in sorted(newest.keys() - seen):
        report.add("alert", alert_id, "its events are logged, the row is missing (deleted)")
    report.checked["alerts"] = count


def _check_links(conn: sa.Connection, report: AuditReport) -> None:
    from metaregistry.detect import engine, lifecycle, scan

    newest_version = conn.execute(sa.text("SELECT MAX(id) FROM unit_block_version")).scalar()
    checked_upto = engine.last_run(conn)
    if checked_upto is None or int(newest_version or 0) > checked_upto:
        report.notes.append(
            "links not recomputed: records changed since the last detection run "
            "(run `metaregistry detect`, then audit again)"
        )
        return
    _, drafts, _, _ = engine.findings_of(scan.sweep(conn))
    found: dict[str, dict[str, Any]] = {}
    for draft in drafts:
        row = lifecycle._link_row(draft, at=None)  # type: ignore[arg-type]
        found[draft.id] = row
    facts = (
        "source_registry",
        "source_record_id",
        "target_registry",
        "target_record_id",
        *lifecycle._LINK_FACTS,
    )
    seen: set[str] = set()
    count = 0
    for row in _pages(conn, "block_link", "*"):
        count += 1
        seen.add(row["id"])
        expected = found.get(row["id"])
        name = (
            f"{row['id']} ({row['source_registry']}/{row['source_record_id']} -> "
            f"{row['target_registry']}/{row['target_record_id']})"
        )
        if expected is None:
            report.add("block_link", name, "detection over the logged blocks finds no such link")
            continue
        differing = [k for k in facts if expected[k] != row[k]]
        if differing:
            first = differing[0]
            report.add(
                "block_link",
                name,
                f"{', '.join(differing)} differ from what detection "
                f"finds ({first} is {row[first]!r}, detection finds {expected[first]!r})",
            )
    for link_id in sorted(found.keys() - seen):
        row = found[link_id]
        report.add(
            "block_link",
            f"{link_id} ({row['source_registry']}/{row['source_record_id']} "
            f"-> {row['target_registry']}/{row['target_record_id']})",
            "detection over the logged blocks finds this link, the row is missing",
        )
    report.checked["links"] = count


def audit(conn: sa.Connection, verifier: Verifier | None = None) -> AuditReport:
    """Run every check of this module's docstring inside ``conn``'s transaction (read only);
    ``verifier`` checks the checkpoints' signatures too."""
    report = AuditReport()
    if not _has_table(conn, "log_leaves"):
        report.add("log_leaves", "-", "the database has no log")
        return report
    leaves = _check_log(conn, report, verifier)
    _check_versions(conn, report, leaves)
    _check_current(conn, report, leaves)
    if _has_table(conn, "alert_event"):
        newest = _check_events(conn, report, leaves)
        _check_alerts(conn, report, newest)
        _check_links(conn, report)
    if _has_table(conn, "article6_authorization_version"):
        from metaregistry.article6.audit import check_authorizations

        check_authorizations(conn, report, leaves.authorizations)
    return report
