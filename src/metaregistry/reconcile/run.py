"""One reconciliation run over the index: read holdings, apply the rules, store the alerts
and links (basis ``project``) through detection's lifecycle, so they reach the API, the feed
and the log exactly as serial-basis ones do.

Project-basis alerts and links are stored with the scheme ``project`` and the project key as
scope; ``overlap_start``/``overlap_end`` hold the vintage (0 when the records give none) and
``overlap_size`` the units counted twice (the target's excess for a mismatch, the smaller
side for a double registration). Their sides are records, not unit ranges.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from metaregistry.detect import lifecycle
from metaregistry.detect.drafts import AlertDraft, LinkDraft, hash_id
from metaregistry.model import UnitBlock
from metaregistry.reconcile import reader
from metaregistry.reconcile.balance import reconcile_holdings
from metaregistry.reconcile.crosswalk import Crosswalk, ProjectLink, build, read_map
from metaregistry.reconcile.model import Finding, Outcome, ProjectRef
from metaregistry.reconcile.tables import project_link_table

__all__ = ["SEVERITY", "ReconcileReport", "reconcile_index"]

#: Project-basis severities: below the serial-basis ones of the same kind (a quantity read
#: per project and vintage is weaker evidence than the same unit numbers in two places).
SEVERITY = {"quantity_mismatch": "medium", "double_issuance": "medium"}


@dataclass
class ReconcileReport:
    """What one run found, by registry pair and outcome."""

    findings: list[Finding] = field(default_factory=list)
    crosswalk: Crosswalk | None = None
    alerts_opened: int = 0
    alerts_updated: int = 0
    alerts_resolved: int = 0
    alerts_reopened: int = 0
    links: int = 0

    def by_pair(self) -> list[dict[str, Any]]:
        """Per (source, target) and outcome: how many findings and units."""
        table: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(dict)
        for f in self.findings:
            row = table[(f.source, f.target)].setdefault(
                f.outcome, {"count": 0, "units_source": 0, "units_target": 0}
            )
            row["count"] += 1
            row["units_source"] += f.gave
            row["units_target"] += f.got
        return [
            {"source": s, "target": t, "outcomes": outcomes}
            for (s, t), outcomes in sorted(table.items())
        ]

    def to_json(self) -> dict[str, Any]:
        counts = Counter(f.outcome for f in self.findings)
        return {
            "counts": {o: counts.get(o, 0) for o in Outcome.ALL},
            "pairs": self.by_pair(),
            "alerts_opened": self.alerts_opened,
            "alerts_updated": self.alerts_updated,
            "alerts_resolved": self.alerts_resolved,
            "alerts_reopened": self.alerts_reopened,
            "links": self.links,
            "findings": [finding_json(f) for f in self.findings],
        }


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "outcome": f.outcome,
        "kind": f.kind,
        "basis": "project",
        "project_key": f.project_key,
        "projects": [f"{r}:{p}" for r, p in f.projects],
        "vintage": f.vintage,
        "source": f.source,
        "target": f.target,
        "units_source": f.gave,
        "units_target": f.got,
        "records": [{"registry": r, "record_id": i, "role": role} for r, i, role in f.records],
        "reason": f.reason,
    }


def _alert(f: Finding, blocks: dict[tuple[str, str], UnitBlock]) -> AlertDraft | None:
    kind = "quantity_mismatch" if f.outcome == Outcome.MISMATCH else "double_issuance"
    sides = [
        ("a" if role in ("source", "a") else "b", blocks[(r, i)])
        for r, i, role in f.records
        if (r, i) in blocks
    ]
    if not sides:
        return None
    vintage = f.vintage or 0
    excess = f.got - f.gave if f.outcome == Outcome.MISMATCH else min(f.gave, f.got)
    return AlertDraft(
        id=hash_id(
            "al_",
            {
                "basis": "project",
                "kind": kind,
                "project": f.project_key,
                "vintage": f.vintage,
                "registries": [f.source, f.target],
            },
        ),
        kind=kind,
        severity=SEVERITY[kind],
        scheme=lifecycle.PROJECT_SCHEME,
        scope=f.project_key,
        registry_a=f.source,
        registry_b=f.target,
        sides=sides,
        ranges=[(vintage, vintage)],
        excess=[],
        rules=[f"project:{f.outcome}"],
        explanation=f.reason,
        overlap_start=vintage,
        overlap_end=vintage,
        overlap_size=max(excess, 0),
        keys={(r, i) for r, i, _role in f.records if (r, i) in blocks},
    )


def _links(f: Finding, blocks: dict[tuple[str, str], UnitBlock]) -> list[LinkDraft]:
    vintage = f.vintage or 0
    if f.outcome == Outcome.REGISTRY_MOVE:
        evidence = [blocks[(r, i)] for r, i, _ in f.records if (r, i) in blocks]
        pairs = [(b, b) for b in evidence]
    elif f.pairs:
        pairs = [(blocks[s], blocks[t]) for s, t in f.pairs if s in blocks and t in blocks]
    else:
        sources = [
            blocks[(r, i)] for r, i, role in f.records if role == "source" and (r, i) in blocks
        ]
        targets = [
            blocks[(r, i)] for r, i, role in f.records if role == "target" and (r, i) in blocks
        ]
        pairs = [(s, t) for s in sources for t in targets]
    kind = "registry_move" if f.outcome == Outcome.REGISTRY_MOVE else f.kind
    out = []
    for source, target in pairs:
        out.append(
            LinkDraft(
                id=hash_id(
                    "ln_",
                    {
                        "basis": "project",
                        "kind": kind,
                        "project": f.project_key,
                        "source": [source.registry, source.record_id],
                        "target": [target.registry, target.record_id],
                        "between": [f.source, f.target],
                    },
                ),
                kind=kind,
                rule=f"project:{f.outcome}",
                source=source,
                target=target,
                ranges=((vintage, vintage),),
                explanation=f.reason,
                scheme=lifecycle.PROJECT_SCHEME,
                scope=f.project_key,
            )
        )
    return out


def _store_crosswalk(conn: sa.Connection, walk: Crosswalk) -> None:
    table = project_link_table
    rows = {
        (link.a, link.b, link.source, link.detail): {
            "a_registry": link.a[0],
            "a_project": link.a[1],
            "b_registry": link.b[0],
            "b_project": link.b[1],
            "source": link.source,
            "detail": link.detail,
        }
        for link in walk.links
    }
    conn.execute(table.delete())
    if rows:
        conn.execute(table.insert(), [rows[k] for k in sorted(rows)])


def _most_of_the_index_changed(conn: sa.Connection, since_version_id: int) -> bool:
    """More new versions than a fifth of the blocks (as detection decides to sweep)."""
    from metaregistry.index.store import unit_block, unit_block_version

    changed = conn.execute(
        sa.select(sa.func.count()).where(unit_block_version.c.id > since_version_id)
    ).scalar()
    blocks = conn.execute(sa.select(sa.func.count()).select_from(unit_block)).scalar()
    return int(changed or 0) * 5 > int(blocks or 0)


def reconcile_index(
    conn: sa.Connection,
    *,
    project_map: Path | None = None,
    store: bool = True,
    now: datetime | None = None,
    since_version_id: int | None = None,
) -> ReconcileReport:
    """Reconcile inside the caller's transaction; with ``store`` the project-basis alerts
    and links are written (opened, updated, resolved) like detection's.

    With ``since_version_id`` only the projects touched by versions after it are
    reconciled (every registry's id of them, through the crosswalk): what a write path runs,
    so its cost follows the write, not the index. Without it, the whole index
    (``metaregistry reconcile``)."""
    mapped: list[ProjectLink] = read_map(project_map) if project_map is not None else []
    scope: set[tuple[str, str]] | None = None
    if since_version_id is not None and _most_of_the_index_changed(conn, since_version_id):
        since_version_id = None  # a first load or a re-pull: one pass over all is cheaper
    if since_version_id is None:
        holdings = reader.holdings(conn)
        walk = build(holdings, mapped)
    else:
        names = reader.record_names(conn)
        walk = build(reader.named_holdings(conn, names), mapped)
        groups = walk.groups()
        members: set[ProjectRef] = set()
        for ref in reader.touched_projects(conn, since_version_id):
            members.update(groups.get(walk.key(ref), [ref]))
        holdings = reader.holdings(conn, projects=members, names=names)
        scope = {(h.registry, h.record_id) for h in holdings}
    findings = reconcile_holdings(holdings, walk, reader.coverage(conn))
    report = ReconcileReport(findings=findings, crosswalk=walk)
    if not store:
        return report
    _store_crosswalk(conn, walk)
    wanted = {(r, i) for f in findings if f.is_alert or f.is_link for r, i, _ in f.records}
    blocks = reader.records_of(conn, wanted)
    drafts = [d for f in findings if f.is_alert if (d := _alert(f, blocks)) is not None]
    links = [link for f in findings if f.is_link for link in _links(f, blocks)]
    unique_links = list({link.id: link for link in links}.values())
    lifecycle.lock(conn)
    changes = lifecycle.reconcile(
        conn, drafts, unique_links, scope=scope, now=now, basis=lifecycle.BASIS_PROJECT
    )
    report.alerts_opened = changes.opened
    report.alerts_updated = changes.updated
    report.alerts_resolved = changes.resolved
    report.alerts_reopened = changes.reopened
    report.links = changes.links
    return report
