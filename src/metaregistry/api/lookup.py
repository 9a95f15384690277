"""The answer to "where do these units live?": every block of every registry that holds any
of them, with status, history, origin links, open alerts, provenance and inclusion proof.

One function, :func:`lookup`, serves ``GET /v1/serials/{serial}`` and ``metaregistry lookup``
so the terminal and the API give the same answer. It runs inside one read transaction (a
:class:`~metaregistry.api.queries.Db`), so every part of an answer is of the same moment.

Every answer is checkable, and checked before it is served. A block's content fields hash
(RFC 8785, nulls omitted) to ``provenance.record_hash``, and its proof's ``leaf_hash`` is the
hash of the block leaf ``(registry, record_id, version, record_hash)``; each history entry
carries its version's ``record_hash`` and, but for the current version (whose content is the
block's), its ``content``. The lookup recomputes both hashes of every block it serves (about
5 us a block: :mod:`metaregistry.log.binding`) and of every older version it shows (against
the log's leaf of that version), and answers 500 ``integrity_error`` naming the record and
the fields that differ instead of serving a row the log does not back.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from metaregistry.api import alerts as alert_source
from metaregistry.api import proofs
from metaregistry.api.cursor import encode_cursor
from metaregistry.api.errors import ApiError
from metaregistry.api.queries import EXTRA_ALERTS, EXTRA_LEAF, EXTRA_LINKS, MIN_KEY, Db, Row
from metaregistry.api.unit_query import UnitQuery
from metaregistry.log.binding import (
    block_leaf_hash,
    content_of,
    describe_differences,
    record_hash_of,
)
from metaregistry.model import CONTENT_FIELDS

__all__ = ["CURSOR_TAG", "Features", "block_json", "check_row", "lookup", "record_answer"]

CURSOR_TAG: Final = "serial"
_PROVENANCE: Final = ("connector", "raw_hash", "record_hash", "observed_at")
# Fields whose change a history entry reports (the identity fields never change).
_TRACKED: Final = tuple(f for f in CONTENT_FIELDS if f not in ("registry", "record_id"))


@dataclass(frozen=True, slots=True)
class Features:
    """Which optional parts the index database has (tables of areas that may not be there),
    and the process-wide cache of log nodes the proofs use."""

    log: bool = False
    alerts: bool = False
    links: bool = False
    #: project-level reconciliation's tables (issue 17): project identity across registries
    projects: bool = False
    nodes: proofs.NodeCache = field(default_factory=proofs.NodeCache, compare=False)

    @property
    def extras(self) -> tuple[str, ...]:
        """What the lookup's overlap query selects beside each block's columns."""
        return _extras(self.log, self.alerts, self.links)


@functools.cache
def _extras(log: bool, alerts: bool, links: bool) -> tuple[str, ...]:
    return (EXTRA_LEAF,) * log + (EXTRA_ALERTS,) * alerts + (EXTRA_LINKS,) * links


def lookup(
    db: Db,
    query: UnitQuery,
    *,
    limit: int,
    after: tuple[int, int] | None = None,
    features: Features = Features(),
) -> dict[str, Any] | None:
    """The answer for ``query``, or None when no block holds any of its units (first page
    only: a later page may be empty)."""
    extras = features.extras
    rows = db.overlap_page(
        query.scheme,
        query.scope,
        query.start,
        query.end,
        after=after or MIN_KEY,
        limit=limit + 1,
        extras=extras,
    )
    if not rows and after is None:
        return None
    more = len(rows) > limit
    rows = rows[:limit]
    keys = [(r["registry"], r["record_id"]) for r in rows]
    # Only blocks with more than one version, or that detection linked or alerted on (the
    # overlap query says which), cost another statement.
    versions = db.versions_of(
        [k for k, r in zip(keys, rows, strict=True) if r["version"] > 1], leaf=features.log
    )
    links = origin_links(db, rows)
    if features.links:
        linked = [k for k, r in zip(keys, rows, strict=True) if r["any_links"]]
        if linked:
            _merge_links(links, alert_source.detected_links(db, linked))
    alerts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    if features.alerts:
        alerted = [k for k, r in zip(keys, rows, strict=True) if r["any_alerts"]]
        if alerted:
            alerts = alert_source.alerts_for(db, alerted)
    checkpoint = proofs.latest_checkpoint(db) if features.log else None
    proved = (
        proofs.proofs_for(
            db,
            [(k, r["leaf_index"]) for k, r in zip(keys, rows, strict=True)],
            checkpoint,
            features.nodes,
        )
        if features.log
        else {}
    )
    blocks = []
    for key, row in zip(keys, rows, strict=True):
        check_row(db, row, proved.get(key))
        block = block_json(row, (query.start, query.end))
        block["history"] = (
            checked_history(row, versions.get(key, []))
            if row["version"] > 1
            else [first_version_json(row)]
        )
        block["links"] = links.get(key, [])
        block["alerts"] = alerts.get(key, [])
        block["proof"] = proved.get(key)
        blocks.append(block)
    last = rows[-1] if rows else None
    return {
        "query": query.to_json(),
        "summary": summary_json(blocks),
        "blocks": blocks,
        "checkpoint": proofs.checkpoint_json(checkpoint),
        "next_cursor": (
            encode_cursor(CURSOR_TAG, int(last["block_start"]), int(last["id"]))
            if more and last is not None
            else None
        ),
    }


def record_answer(
    db: Db, registry: str, record_id: str, *, features: Features = Features()
) -> dict[str, Any] | None:
    """One record as a lookup serves it (``GET /v1/records/{registry}/{record_id}``): its
    block with history and proof, and the checkpoint; None when the index has no such
    record. What ``metaregistry verify --url --record`` recomputes."""
    rows = db.block_by_key(registry, record_id, extras=features.extras)
    if not rows:
        return None
    row = rows[0]
    key = (registry, record_id)
    checkpoint = proofs.latest_checkpoint(db) if features.log else None
    proved = (
        proofs.proofs_for(db, [(key, row["leaf_index"])], checkpoint, features.nodes)
        if features.log
        else {}
    )
    check_row(db, row, proved.get(key))
    block = block_json(row)
    if row["version"] > 1:
        block["history"] = checked_history(row, db.versions_of([key], leaf=features.log)[key])
    else:
        block["history"] = [first_version_json(row)]
    block["proof"] = proved.get(key)
    if features.alerts:
        block["alerts"] = alert_source.alerts_for(db, [key])[key]
    return {"block": block, "checkpoint": proofs.checkpoint_json(checkpoint)}


def _integrity_error(record: str, problem: str) -> ApiError:
    return ApiError(
        500,
        "integrity_error",
        f"record {record}: {problem}; the index was changed outside metaregistry, so this "
        "answer is not served",
        hint="the operator can list every row that disagrees with the log: metaregistry audit",
    )


def check_row(db: Db, row: Row, proof: dict[str, Any] | None) -> None:
    """Raise a 500 ``integrity_error`` unless the current row ``row`` is what the log
    holds: its content hashes to its ``record_hash``, and (when its version is logged: the
    proof) that hash and version make the leaf the proof proves."""
    record_hash = row["record_hash"]
    if record_hash_of(row) != record_hash:
        raise _row_mismatch(db, row, "its content does not hash to its record_hash")
    if proof is not None:
        leaf = block_leaf_hash(row["registry"], row["record_id"], row["version"], record_hash)
        if leaf is None or leaf.hex() != proof["leaf_hash"]:
            raise _row_mismatch(
                db,
                row,
                f"version {row['version']} with record_hash {record_hash} is not the leaf "
                "the log holds for it",
            )


def _row_mismatch(db: Db, row: Row, problem: str) -> ApiError:
    """The error for a current row that fails its check, naming the fields that differ from
    the stored version it claims to be (read only on this rare path)."""
    key = (row["registry"], row["record_id"])
    record = f"{key[0]}/{key[1]}"
    stored = [v for v in db.versions_of([key])[key] if v["version"] == row["version"]]
    if stored:
        try:
            content = json.loads(stored[0]["content"])
        except ValueError:
            content = {}
        differences = describe_differences(
            row, content, "the index row", f"stored version {row['version']}"
        )
        problem = f"{problem} ({differences})"
    return _integrity_error(record, problem)


def checked_history(row: Row, versions: Sequence[Row]) -> list[dict[str, Any]]:
    """:func:`history_json` of ``versions`` after checking each against the log: its content
    hashes to its ``record_hash``, that is the leaf the log holds for the version (when the
    rows carry ``leaf_hash``), and the newest is the current row's version."""
    record = f"{row['registry']}/{row['record_id']}"
    if not versions or (versions[-1]["version"], versions[-1]["record_hash"]) != (
        row["version"],
        row["record_hash"],
    ):
        raise _integrity_error(
            record,
            f"the current row is version {row['version']} with record_hash {row['record_hash']},"
            " which is not the newest stored version",
        )
    contents: list[dict[str, Any]] = []
    for version in versions:
        number = version["version"]
        try:
            content = json.loads(version["content"])
        except ValueError:
            raise _integrity_error(record, f"stored version {number} is not JSON") from None
        contents.append(content)
        if not isinstance(content, dict) or record_hash_of(content) != version["record_hash"]:
            raise _integrity_error(
                record, f"stored version {number} does not hash to its record_hash"
            )
        if (content.get("registry"), content.get("record_id")) != (
            row["registry"],
            row["record_id"],
        ):
            raise _integrity_error(record, f"stored version {number} is of another record")
        logged = version.get("leaf_hash")
        if logged is not None:
            leaf = block_leaf_hash(
                row["registry"], row["record_id"], number, version["record_hash"]
            )
            if leaf != bytes(logged):
                raise _integrity_error(
                    record,
                    f"stored version {number} with record_hash {version['record_hash']} is not "
                    "the leaf the log holds for it",
                )
    return history_json(versions, current=int(row["version"]), contents=contents)


def block_json(row: Row, wanted: tuple[int, int] | None = None) -> dict[str, Any]:
    """A block as the API shows it: its content fields (null when unset), version,
    provenance and, given the range asked for, the part of it the block covers."""
    out: dict[str, Any] = {name: row[name] for name in CONTENT_FIELDS}
    out["version"] = int(row["version"])
    out["provenance"] = {name: row[name] for name in _PROVENANCE}
    if wanted is not None:
        start = max(int(row["block_start"]), wanted[0])
        end = min(int(row["block_end"]), wanted[1])
        out["overlap"] = {"block_start": start, "block_end": end, "quantity": end - start + 1}
    return out


def history_json(
    versions: Sequence[Row],
    current: int | None = None,
    contents: Sequence[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every version, oldest first, each with what changed from the one before and, but for
    the ``current`` version (whose content is the block's own), its ``content``: the fields
    its ``record_hash`` covers, so that a client can recompute it. ``contents``: each
    version's parsed content, when the caller has it already."""
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for i, row in enumerate(versions):
        content = contents[i] if contents is not None else json.loads(row["content"])
        changes = (
            {}
            if previous is None
            else {
                name: {"from": previous.get(name), "to": content.get(name)}
                for name in _TRACKED
                if previous.get(name) != content.get(name)
            }
        )
        entry = {
            "version": int(row["version"]),
            "status": content.get("status"),
            "status_date": content.get("status_date"),
            "observed_at": row["observed_at"],
            "record_hash": row["record_hash"],
            "raw_hash": row["raw_hash"],
            "connector": row["connector"],
            "changes": changes,
        }
        if int(row["version"]) != current:
            entry["content"] = content_of(content)
        out.append(entry)
        previous = content
    return out


def first_version_json(row: Row) -> dict[str, Any]:
    """The history of a block at version 1, from its own row: the index writes a block's
    row and its version from the same record in one transaction, so the only version's
    status, date and provenance are the row's (tests hold this against the versions
    table)."""
    return {
        "version": 1,
        "status": row["status"],
        "status_date": row["status_date"],
        "observed_at": row["observed_at"],
        "record_hash": row["record_hash"],
        "raw_hash": row["raw_hash"],
        "connector": row["connector"],
        "changes": {},
    }


def origin_links(db: Db, rows: Sequence[Row]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Per block: the block(s) its ``origin`` serial names, and the blocks whose ``origin``
    is its serial. A block never links to itself (an ``origin`` equal to its own serial).

    By the numbering rules (DOMAIN.md) a block holding another registry's credits is
    numbered in the source's scheme, so source and derived blocks hold the same units and
    both appear in the answer already; only an origin whose block is outside this page is
    fetched by serial.
    """
    if not any(r["origin"] for r in rows):  # the common case: no block names an origin
        return {(r["registry"], r["record_id"]): [] for r in rows}
    by_serial: dict[str, list[Row]] = {}
    for row in rows:
        by_serial.setdefault(row["serial"], []).append(row)
    missing = {r["origin"] for r in rows if r["origin"] and r["origin"] not in by_serial}
    for row in db.blocks_by_serial(missing) if missing else []:
        by_serial.setdefault(row["serial"], []).append(row)
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["registry"], row["record_id"])
        found: list[dict[str, Any]] = []
        others = [r for r in rows if (r["registry"], r["record_id"]) != key]  # never itself
        if row["origin"]:
            found.extend(
                _link("origin", r)
                for r in by_serial.get(row["origin"], ())
                if (r["registry"], r["record_id"]) != key
            )
        found.extend(_link("derived", r) for r in others if r["origin"] == row["serial"])
        out[key] = found
    return out


def _merge_links(
    links: dict[tuple[str, str], list[dict[str, Any]]],
    detected: dict[tuple[str, str], list[dict[str, Any]]],
) -> None:
    """Add detection's links; an origin link to the same block gives way to the richer one."""
    for key, found in detected.items():
        if not found:
            continue
        named = {(link["registry"], link["record_id"]) for link in found}
        kept = [
            link
            for link in links.get(key, [])
            if (link["registry"], link["record_id"]) not in named
        ]
        links[key] = kept + found


def _link(relation: str, row: Row) -> dict[str, Any]:
    return {
        "relation": relation,
        "registry": row["registry"],
        "record_id": row["record_id"],
        "serial": row["serial"],
        "status": row["status"],
    }


def summary_json(blocks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Registries holding the units, and how many blocks and open alerts the page shows."""
    registries: dict[str, set[str]] = {}
    count = 0
    open_alerts: set[str] = set()
    for block in blocks:
        count += 1
        registries.setdefault(block["registry"], set()).add(block["status"])
        open_alerts.update(a["id"] for a in block["alerts"])
    return {
        "blocks": count,
        "registries": [
            {"registry": name, "statuses": sorted(statuses)}
            for name, statuses in sorted(registries.items())
        ],
        "open_alerts": len(open_alerts),
    }
