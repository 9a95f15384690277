"""One project across registries, as ``/v1/projects/{id}``, the page and ``metaregistry
projects show`` give it: its key, every registry's id with where each link came from, its
units per registry, vintage and status, and what reconciliation finds for it.

Reads the crosswalk the last reconciliation stored (``project_link``) and only the records of
the project's own ids, so it costs the project's size, not the index's.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

import sqlalchemy as sa

from metaregistry.index.store import unit_block
from metaregistry.reconcile import reader
from metaregistry.reconcile.balance import reconcile_holdings
from metaregistry.reconcile.crosswalk import Crosswalk, ProjectLink, key_text, parse_project
from metaregistry.reconcile.model import ProjectRef
from metaregistry.reconcile.run import finding_json
from metaregistry.reconcile.tables import project_link_table

__all__ = ["project_view", "refs_named"]


def refs_named(conn: sa.Connection, text: str) -> list[ProjectRef]:
    """The project references ``text`` names: ``ACR1051`` or ``verra:934`` parsed, else every
    registry's project stored under exactly that id."""
    try:
        return [parse_project(text)]
    except ValueError:
        pass
    ub = unit_block
    stmt = sa.select(ub.c.registry).where(ub.c.project_id == text).distinct()
    return sorted((str(r[0]), text) for r in conn.execute(stmt))


def _group(
    conn: sa.Connection, start: list[ProjectRef]
) -> tuple[list[ProjectRef], list[ProjectLink]]:
    table = project_link_table
    seen = set(start)
    queue = deque(start)
    links: dict[tuple[Any, ...], ProjectLink] = {}
    while queue:
        registry, project = queue.popleft()
        stmt = sa.select(table).where(
            sa.or_(
                sa.and_(table.c.a_registry == registry, table.c.a_project == project),
                sa.and_(table.c.b_registry == registry, table.c.b_project == project),
            )
        )
        for row in conn.execute(stmt).mappings():
            a = (str(row["a_registry"]), str(row["a_project"]))
            b = (str(row["b_registry"]), str(row["b_project"]))
            links[(a, b, row["source"], row["detail"])] = ProjectLink(
                a, b, str(row["source"]), str(row["detail"])
            )
            for ref in (a, b):
                if ref not in seen:
                    seen.add(ref)
                    queue.append(ref)
    return sorted(seen), list(links.values())


def project_view(conn: sa.Connection, text: str) -> dict[str, Any] | None:
    """The project ``text`` names, across registries; None when the index has no record of
    it and no link names it."""
    start = refs_named(conn, text)
    members, links = _group(conn, start)
    holdings = reader.holdings(conn, projects=members)
    if not holdings and not links:
        return None
    walk = Crosswalk()
    for ref in members:
        walk.add(ref)
    for link in links:
        walk.link(link)
    key = walk.key(start[0]) if start else key_text(members[0])
    units: Counter[tuple[str, int | None, str]] = Counter()
    for h in holdings:
        units[(h.registry, h.vintage, h.status)] += h.quantity
    findings = reconcile_holdings(holdings, walk, reader.coverage(conn))
    return {
        "project_key": key,
        "ids": [key_text(m) for m in members],
        "id_links": [link.to_json() for link in sorted(links, key=lambda x: (x.a, x.b, x.detail))],
        "units": [
            {"registry": r, "vintage": v, "status": s, "units": n}
            for (r, v, s), n in sorted(
                units.items(), key=lambda i: (i[0][0], i[0][1] or 0, i[0][2])
            )
        ],
        "reconciliation": [finding_json(f) for f in findings],
    }
