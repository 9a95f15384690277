"""Holdings, coverage and project names from the index."""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from metaregistry.index import store
from metaregistry.index.store import raw_record, unit_block
from metaregistry.model import UnitBlock, references_of
from metaregistry.projects import PREFIXES, normalize_project_id
from metaregistry.reconcile.model import Holding, ProjectRef
from metaregistry.reconcile.tables import registry_coverage_table

__all__ = [
    "coverage",
    "holdings",
    "mark_complete",
    "named_holdings",
    "project_names",
    "project_ref",
    "record_names",
    "records_of",
    "touched_projects",
]


@functools.lru_cache(maxsize=65536)
def project_ref(registry: str, project_id: str | None) -> ProjectRef | None:
    """``(registry, id)`` with the id in its registry's one form where the registry has one
    (``ACR1051``); other registries' ids as stored."""
    if not project_id:
        return None
    if registry in PREFIXES:
        try:
            normalized = normalize_project_id(registry, project_id)
        except ValueError:
            normalized = project_id
        return (registry, normalized or project_id)
    return (registry, project_id)


def _year(value: str | None) -> int | None:
    if not value or len(value) < 4 or not value[:4].isdigit():
        return None
    return int(value[:4])


def record_names(conn: sa.Connection) -> dict[tuple[str, str], list[tuple[ProjectRef, str]]]:
    """The projects each record names (its ``cross_refs`` of a ``*project*`` kind), in the
    order the record gives them."""
    ub = unit_block
    out: dict[tuple[str, str], list[tuple[ProjectRef, str]]] = defaultdict(list)
    stmt = sa.select(ub.c.registry, ub.c.record_id, ub.c.cross_refs).where(
        ub.c.cross_refs.like("%project=%")
    )
    for registry, record_id, text in conn.execute(stmt):
        for kind, ref_registry, ident in references_of(text):
            if "project" not in kind:
                continue
            ref = project_ref(ref_registry, ident)
            if ref is not None:
                out[(registry, record_id)].append((ref, kind))
    for names in out.values():  # the record's own field first, a mention in a comment after
        names.sort(key=lambda item: "comment" in item[1])
    return out


def _by_registry(
    conn: sa.Connection, stmt: Any, column: Any, pairs: Iterable[tuple[str, str]]
) -> list[Any]:
    """Rows of ``stmt`` for (registry, value) pairs, ``column`` holding the value: one
    ``registry = ? AND column IN (...)`` query per registry and 500 values."""
    by_registry: dict[str, set[str]] = defaultdict(set)
    for registry, value in pairs:
        by_registry[registry].add(value)
    rows: list[Any] = []
    for registry, values in sorted(by_registry.items()):
        ordered = sorted(values)
        for i in range(0, len(ordered), 500):
            chunk = ordered[i : i + 500]
            rows.extend(
                conn.execute(stmt.where(unit_block.c.registry == registry, column.in_(chunk)))
            )
    return rows


def holdings(
    conn: sa.Connection,
    registries: Iterable[str] | None = None,
    projects: Iterable[ProjectRef] | None = None,
    names: Mapping[tuple[str, str], list[tuple[ProjectRef, str]]] | None = None,
) -> list[Holding]:
    """Every current record that names a project, as a holding (only ``registries``' or
    only those of ``projects`` when given). ``names``: :func:`record_names`, when the
    caller read it already."""
    ub = unit_block
    stmt = sa.select(
        ub.c.registry,
        ub.c.record_id,
        ub.c.project_id,
        ub.c.vintage_start,
        ub.c.status,
        ub.c.status_reason,
        ub.c.quantity,
        ub.c.numbering,
    ).where(ub.c.project_id.is_not(None))
    if registries is not None:
        stmt = stmt.where(ub.c.registry.in_(sorted(set(registries))))
    if names is None:
        names = record_names(conn)
    if projects is not None:
        rows = sorted(_by_registry(conn, stmt, ub.c.project_id, projects), key=lambda r: r[:2])
    else:
        rows = list(conn.execute(stmt.order_by(ub.c.registry, ub.c.record_id)))
    out: list[Holding] = []
    for row in rows:
        registry, record_id = row[0], row[1]
        out.append(
            Holding(
                registry=registry,
                record_id=record_id,
                project=project_ref(registry, row[2]),
                vintage=_year(row[3]),
                status=row[4],
                quantity=int(row[6]),
                reason=row[5] or "",
                numbered=row[7] is None,
                names=tuple(names.get((registry, record_id), ())),
            )
        )
    return out


def records_of(
    conn: sa.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], UnitBlock]:
    """Current blocks of the given (registry, record_id) keys."""
    return {b.key: b for b in store.blocks_by_key(conn, sorted(set(keys)))}


def touched_projects(conn: sa.Connection, since_version_id: int) -> set[ProjectRef]:
    """The projects of the records with a version after ``since_version_id``, and the
    projects those records name."""
    ubv = store.unit_block_version
    ub = unit_block
    keys = {
        (r[0], r[1])
        for r in conn.execute(
            sa.select(ubv.c.registry, ubv.c.record_id).where(ubv.c.id > since_version_id).distinct()
        )
    }
    out: set[ProjectRef] = set()
    stmt = sa.select(ub.c.registry, ub.c.project_id, ub.c.cross_refs)
    for reg, project_id, refs in _by_registry(conn, stmt, ub.c.record_id, keys):
        ref = project_ref(reg, project_id)
        if ref is not None:
            out.add(ref)
        for kind, other, ident in references_of(refs):
            named = project_ref(other, ident) if "project" in kind else None
            if named is not None:
                out.add(named)
    return out


def named_holdings(
    conn: sa.Connection, names: Mapping[tuple[str, str], list[tuple[ProjectRef, str]]]
) -> list[Holding]:
    """The holdings of records that name another project (the crosswalk's own edges; few):
    ``names`` is :func:`record_names`."""
    ub = unit_block
    stmt = sa.select(ub.c.registry, ub.c.project_id).where(ub.c.cross_refs.like("%project=%"))
    refs = {ref for r in conn.execute(stmt) if (ref := project_ref(r[0], r[1])) is not None}
    return holdings(conn, projects=refs, names=names) if refs else []


def coverage(conn: sa.Connection) -> dict[str, bool]:
    """registry -> whether the index holds its complete record set."""
    table = registry_coverage_table
    return {r.registry: bool(r.complete) for r in conn.execute(sa.select(table))}


def mark_complete(
    conn: sa.Connection,
    registries: Iterable[str],
    source: str,
    detail: str,
    now: datetime | None = None,
) -> None:
    """Record that the index holds the complete record set of ``registries``."""
    table = registry_coverage_table
    at = now or datetime.now(UTC)
    for registry in sorted(set(registries)):
        values: Mapping[str, object] = {
            "complete": True,
            "source": source,
            "detail": detail[:2000],
            "recorded_at": at,
        }
        updated = conn.execute(table.update().where(table.c.registry == registry).values(**values))
        if updated.rowcount == 0:
            conn.execute(table.insert().values(registry=registry, **values))


_NAME_KEY = re.compile(r"^(offset\s*)?project[\s_]*name$|^name$", re.I)
_COUNTRY_KEY = re.compile(r"^(project[\s_]*)?(site[\s_]*)?country$|^country[\s_]*code$", re.I)


def project_names(conn: sa.Connection) -> dict[ProjectRef, tuple[str, str | None]]:
    """Each project's name and country as its records' raw payloads give them (the first
    record of each project that names it): for name suggestions only, never for an alert."""
    ub = unit_block
    raw = raw_record
    stmt = (
        sa.select(ub.c.registry, ub.c.project_id, ub.c.country, raw.c.payload)
        .join(raw, raw.c.raw_hash == ub.c.raw_hash)
        .where(ub.c.project_id.is_not(None))
        .order_by(ub.c.registry, ub.c.project_id, ub.c.record_id)
    )
    out: dict[ProjectRef, tuple[str, str | None]] = {}
    for registry, project_id, country, payload in conn.execute(stmt):
        ref = project_ref(registry, project_id)
        if ref is None or ref in out:
            continue
        try:
            data = json.loads(payload)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        name = next(
            (
                str(v)
                for k, v in data.items()
                if _NAME_KEY.match(str(k)) and isinstance(v, str) and v.strip()
            ),
            None,
        )
        if name is None:
            continue
        stated = next(
            (
                str(v)
                for k, v in data.items()
                if _COUNTRY_KEY.match(str(k)) and isinstance(v, str) and v.strip()
            ),
            None,
        )
        out[ref] = (name, country or stated)
    return out
