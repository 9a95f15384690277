"""Reading alerts and links (the CLI's and any reader's view; the feed has its own paging).

Every alert reads as :func:`metaregistry.detect.events.alert_document`: the ``alert`` row with
``sides`` and ``detail`` decoded and times in RFC 3339, e.g.::

    {"id": "al_...", "kind": "double_use", "severity": "critical", "status": "open",
     "scheme": "vcs", "scope": "", "registry_a": "verra", "registry_b": "toucan",
     "overlap_start": 100, "overlap_end": 199, "overlap_size": 100,
     "sides": [{"registry": "verra", "record_id": "...", "serial": "...", "block_start": 100,
                "block_end": 199, "status": "retired", "role": "a"}, ...],
     "detail": {"ranges": [[100, 199]], "excess": [], "rules": ["double-use"]},
     "explanation": "...", "opened_at": "...", "updated_at": "...", "resolved_at": null,
     "resolution": null, "basis": "serial"}

``basis`` is ``serial`` (unit ranges compared) or ``project`` (a project's quantities per
registry and vintage compared, issue 17: scheme ``project``, scope the project key, the
overlap the vintage and its size the units counted twice). It is derived from the scheme, not
stored, so logged alert events keep their documents.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from metaregistry.detect.events import alert_document
from metaregistry.detect.lifecycle import (
    ARTICLE6_SCHEME,
    BASIS_ARTICLE6,
    BASIS_PROJECT,
    BASIS_SERIAL,
    PROJECT_SCHEME,
    basis_of,
)
from metaregistry.detect.tables import alert_table, block_link_table

__all__ = ["AlertQuery", "get_alert", "list_alerts", "list_links"]


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Which alerts to read; each field is a set of accepted values (empty: any).
    ``registry`` matches an alert when either side is in that registry."""

    registry: frozenset[str] = frozenset()
    kind: frozenset[str] = frozenset()
    severity: frozenset[str] = frozenset()
    status: frozenset[str] = frozenset()
    basis: frozenset[str] = frozenset()

    def where(self) -> list[sa.ColumnElement[bool]]:
        table = alert_table
        clauses: list[sa.ColumnElement[bool]] = []
        if self.basis:
            clause = _basis_clause(table, self.basis)
            if clause is not None:
                clauses.append(clause)
        if self.registry:
            names = sorted(self.registry)
            clauses.append(sa.or_(table.c.registry_a.in_(names), table.c.registry_b.in_(names)))
        for column, values in (
            (table.c.kind, self.kind),
            (table.c.severity, self.severity),
            (table.c.status, self.status),
        ):
            if values:
                clauses.append(column.in_(sorted(values)))
        return clauses


def list_alerts(conn: sa.Connection, query: AlertQuery | None = None) -> list[dict[str, Any]]:
    """Alerts matching ``query``, oldest first (by ``opened_at``, then id)."""
    table = alert_table
    stmt = sa.select(table).order_by(table.c.opened_at, table.c.id)
    if query is not None:
        stmt = stmt.where(*query.where())
    return [public_document(row) for row in conn.execute(stmt).mappings()]


def public_document(row: Any) -> dict[str, Any]:
    """An alert or link row as readers see it: :func:`alert_document` plus its ``basis``."""
    out = alert_document(row)
    out["basis"] = basis_of(str(out.get("scheme", "")))
    return out


def _basis_clause(table: sa.Table, basis: Collection[str]) -> sa.ColumnElement[bool] | None:
    """Rows of the bases asked for: project and Article 6 findings by their own scheme,
    serial detection's by every other scheme."""
    own = {BASIS_PROJECT: PROJECT_SCHEME, BASIS_ARTICLE6: ARTICLE6_SCHEME}
    clauses: list[sa.ColumnElement[bool]] = [
        table.c.scheme == scheme for name, scheme in own.items() if name in basis
    ]
    if BASIS_SERIAL in basis:
        clauses.append(table.c.scheme.not_in(list(own.values())))
    if len(clauses) == len(own) + 1:
        return None
    return sa.or_(*clauses) if clauses else sa.false()


def get_alert(conn: sa.Connection, alert_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(alert_table).where(alert_table.c.id == alert_id)).mappings()
    found = row.first()
    return None if found is None else public_document(found)


def list_links(
    conn: sa.Connection,
    *,
    registry: Collection[str] = (),
    kind: Collection[str] = (),
    basis: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Links between blocks, by (scheme, scope, overlap_start), each with its ``basis``."""
    table = block_link_table
    stmt = sa.select(table).order_by(table.c.scheme, table.c.scope, table.c.overlap_start)
    if basis:
        clause = _basis_clause(table, basis)
        if clause is not None:
            stmt = stmt.where(clause)
    if registry:
        names = sorted(registry)
        stmt = stmt.where(
            sa.or_(table.c.source_registry.in_(names), table.c.target_registry.in_(names))
        )
    if kind:
        stmt = stmt.where(table.c.kind.in_(sorted(kind)))
    return [public_document(row) for row in conn.execute(stmt).mappings()]
