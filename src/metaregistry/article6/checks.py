"""The Article 6 checks (issue 19, item 2): alerts of their own kinds in the same lifecycle
and feed as detection's (severity, explanation, sides), each rule one row of :data:`RULES`.

What the checks read: the current unit blocks that carry Article 6 facts (an authorization
id, an ITMO id, a first-transfer date) or belong to an activity under a letter of
acknowledgement or a results-based payment, and the current authorizations. A block is
*first-transferred* when it has a first-transfer date or an ITMO id, *used* when retired.
Units are counted as the union of the blocks' ranges per numbering scheme and scope, so a
unit two registries both show (a JCM mirror, a conversion) counts once.

Rules (rule id, alert kind: what it finds):

* ``loa-quantity``, ``authorization_exceeded``: more units first-transferred or used under an
  LoA than it authorizes;
* ``export-cap``, ``authorization_exceeded``: a host party's first transfers in a year beyond
  its ``[article6] export_caps``;
* ``no-loa``, ``unauthorized_use``: first-transferred units naming no authorization the index
  holds, or a revoked one (only for hosts whose authorizations the index holds);
* ``ca-not-applied``, ``unauthorized_use``: first-transferred units whose corresponding
  adjustment is ``not-applied``;
* ``jcm-both-parties``, ``unauthorized_use``: a JCM ITMO whose project's authorization lacks
  Japan's or the partner's;
* ``loack-transferred``, ``double_claim``: units of an activity under a letter of
  acknowledgement first-transferred;
* ``paid-results-transferred``, ``double_claim``: units of an activity and vintage paid for as
  results (Article 6.8) first-transferred.

An alert's id is derived from its rule and subject (the LoA, the party and year, the block),
so a finding seen again is the same alert (updated when its facts change) and one no longer
found is resolved, as for detection's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import sqlalchemy as sa

from metaregistry.article6.store import authorizations as stored_authorizations
from metaregistry.authorization import Authorization
from metaregistry.detect import lifecycle
from metaregistry.detect.drafts import AlertDraft, hash_id
from metaregistry.index.store import block_from_row, unit_block
from metaregistry.model import UnitBlock

__all__ = ["ALERT_KINDS", "RULES", "CheckReport", "Rule", "run_checks"]

ALERT_KINDS: Final = ("authorization_exceeded", "unauthorized_use", "double_claim")


@dataclass(frozen=True, slots=True)
class Facts:
    """What every rule reads."""

    blocks: Sequence[UnitBlock]
    authorizations: Sequence[Authorization]
    caps: Mapping[str, Mapping[int, int]]

    def by_id(self) -> dict[str, list[Authorization]]:
        out: dict[str, list[Authorization]] = defaultdict(list)
        for auth in self.authorizations:
            out[auth.authorization_id].append(auth)
        return out


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    subject: str
    blocks: list[UnitBlock]
    explanation: str
    units: int


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    severity: str
    find: Callable[[Facts], Iterable[Finding]]


def transferred(block: UnitBlock) -> bool:
    return block.first_transfer_date is not None or block.itmo_id is not None


def units(blocks: Iterable[UnitBlock]) -> int:
    """Units of ``blocks``, each unit once (union of ranges per scheme and scope)."""
    ranges: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for b in blocks:
        ranges[(b.scheme, b.scope)].append((b.block_start, b.block_end))
    total = 0
    for spans in ranges.values():
        end = -1
        for start, stop in sorted(spans):
            if stop > end:
                total += stop - max(start, end + 1) + 1
                end = stop
    return total


def _vintage(block: UnitBlock) -> int | None:
    return int(block.vintage_start[:4]) if block.vintage_start else None


def _loa_quantity(facts: Facts) -> Iterator[Finding]:
    loas = {a.authorization_id: a for a in facts.authorizations if a.kind == "loa"}
    named: dict[str, list[UnitBlock]] = defaultdict(list)
    for b in facts.blocks:
        if b.authorization_id in loas and (transferred(b) or b.status == "retired"):
            named[b.authorization_id].append(b)
    for loa_id, blocks in sorted(named.items()):
        loa = loas[loa_id]
        counted = units(blocks)
        if loa.quantity is not None and counted > loa.quantity:
            yield Finding(
                "loa-quantity",
                f"{loa.registry}:{loa_id}",
                blocks,
                f"{counted:,} units first-transferred or used under {loa_id} "
                f"({loa.registry}), which authorizes {loa.quantity:,}: "
                f"{counted - loa.quantity:,} beyond it",
                counted - loa.quantity,
            )


def _export_cap(facts: Facts) -> Iterator[Finding]:
    hosts = {a.authorization_id: a.host_party for a in facts.authorizations}
    by_year: dict[tuple[str, int], list[UnitBlock]] = defaultdict(list)
    for b in facts.blocks:
        if b.first_transfer_date is None:
            continue
        host = hosts.get(b.authorization_id or "") or b.country
        if host is not None:
            by_year[(host, int(b.first_transfer_date[:4]))].append(b)
    for (party, year), blocks in sorted(by_year.items()):
        cap = facts.caps.get(party, {}).get(year)
        counted = units(blocks)
        if cap is not None and counted > cap:
            yield Finding(
                "export-cap",
                f"{party}:{year}",
                blocks,
                f"{party} first-transferred {counted:,} units in {year}, beyond its "
                f"configured export cap of {cap:,} ({counted - cap:,} over)",
                counted - cap,
            )


def _no_loa(facts: Facts) -> Iterator[Finding]:
    by_id = facts.by_id()
    hosts = {a.host_party for a in facts.authorizations if a.kind == "loa"}
    for b in facts.blocks:
        if not transferred(b) or b.registry.startswith("jcm-"):
            continue
        found = by_id.get(b.authorization_id or "", [])
        if any(a.status != "revoked" and a.kind == "loa" for a in found):
            continue
        revoked = [a for a in found if a.status == "revoked"]
        if not revoked and b.country not in hosts:
            continue  # the index holds no authorization of this host: nothing to say
        named = f"authorization {b.authorization_id}" if b.authorization_id else "none"
        why = (
            f"its authorization {b.authorization_id} was revoked"
            if revoked
            else f"it names {named}, and the index holds no such {b.country} LoA"
        )
        yield Finding(
            "no-loa",
            f"{b.registry}:{b.record_id}",
            [b],
            f"{b.registry} {b.serial}: {b.quantity:,} units first-transferred as ITMOs, but {why}",
            b.quantity,
        )


def _ca_not_applied(facts: Facts) -> Iterator[Finding]:
    for b in facts.blocks:
        if transferred(b) and b.corresponding_adjustment == "not-applied":
            yield Finding(
                "ca-not-applied",
                f"{b.registry}:{b.record_id}",
                [b],
                f"{b.registry} {b.serial}: {b.quantity:,} units first-transferred as ITMOs "
                f"with the corresponding adjustment not applied",
                b.quantity,
            )


def _jcm_both_parties(facts: Facts) -> Iterator[Finding]:
    jcm: dict[str, list[Authorization]] = defaultdict(list)
    named: dict[str, list[Authorization]] = defaultdict(list)
    for a in facts.authorizations:
        if a.kind == "jcm-estimate" and a.status != "revoked":
            named[a.authorization_id].append(a)
            if a.activity_id:
                jcm[a.activity_id].append(a)
    for b in facts.blocks:
        if not (b.registry.startswith("jcm-") and transferred(b)):
            continue
        host = b.country
        parties = {"JP", host} if host else {"JP"}
        found = [
            a
            for a in jcm.get(b.project_id or "", []) + named.get(b.authorization_id or "", [])
            if _covers(a, b)
        ]
        have = set().union(*(set(a.authorized_by) for a in found)) if found else set()
        missing = sorted(p for p in parties if p not in have)
        if found and not missing:
            continue
        what = (
            "no authorization of the project"
            if not found
            else "no authorization by " + ", ".join(missing)
        )
        yield Finding(
            "jcm-both-parties",
            f"{b.registry}:{b.record_id}",
            [b],
            f"{b.registry} {b.serial}: {b.quantity:,} JCM units first-transferred as ITMOs "
            f"with {what} (an ITMO needs both parties' authorization)",
            b.quantity,
        )


def _covers(auth: Authorization, block: UnitBlock) -> bool:
    vintage = _vintage(block)
    return vintage is None or auth.covers_vintage(vintage)


def _outside(kind: str, rule: str, what: str) -> Callable[[Facts], Iterator[Finding]]:
    def find(facts: Facts) -> Iterator[Finding]:
        acts = [
            a
            for a in facts.authorizations
            if a.kind == kind and a.activity_id and a.status != "revoked"
        ]
        for a in acts:
            blocks = [
                b
                for b in facts.blocks
                if b.project_id == a.activity_id and transferred(b) and _covers(a, b)
            ]
            if blocks:
                counted = units(blocks)
                yield Finding(
                    rule,
                    f"{a.registry}:{a.authorization_id}",
                    blocks,
                    f"{counted:,} units of activity {a.activity_id} first-transferred as ITMOs, "
                    f"but {a.host_party} {what} ({a.authorization_id}, {a.registry})",
                    counted,
                )

    return find


RULES: Final[tuple[Rule, ...]] = (
    Rule("loa-quantity", "authorization_exceeded", "high", _loa_quantity),
    Rule("export-cap", "authorization_exceeded", "high", _export_cap),
    Rule("no-loa", "unauthorized_use", "critical", _no_loa),
    Rule("ca-not-applied", "unauthorized_use", "high", _ca_not_applied),
    Rule("jcm-both-parties", "unauthorized_use", "high", _jcm_both_parties),
    Rule(
        "loack-transferred",
        "double_claim",
        "critical",
        _outside("loack", "loack-transferred", "acknowledged the activity outside authorization"),
    ),
    Rule(
        "paid-results-transferred",
        "double_claim",
        "critical",
        _outside(
            "results-based-payment",
            "paid-results-transferred",
            "was paid for these results (Article 6.8; they stay with its NDC)",
        ),
    ),
)


@dataclass(slots=True)
class CheckReport:
    drafts: list[AlertDraft] = field(default_factory=list)
    changes: lifecycle.Changes | None = None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for d in self.drafts:
            out[d.kind] += 1
        return dict(sorted(out.items()))


def _draft(rule: Rule, finding: Finding) -> AlertDraft:
    blocks = sorted(finding.blocks, key=lambda b: b.key)
    registries = sorted({b.registry for b in blocks})
    return AlertDraft(
        id=hash_id("al_", {"basis": "article6", "rule": rule.id, "subject": finding.subject}),
        kind=rule.kind,
        severity=rule.severity,
        scheme=lifecycle.ARTICLE6_SCHEME,
        scope=finding.subject,
        registry_a=registries[0],
        registry_b=registries[-1],
        sides=[("a", b) for b in blocks],
        ranges=[],
        excess=[],
        rules=[f"article6:{rule.id}"],
        explanation=finding.explanation,
        overlap_size=finding.units,
        keys={b.key for b in blocks},
    )


def _relevant_blocks(conn: sa.Connection, activities: set[str]) -> list[UnitBlock]:
    c = unit_block.c
    clause = sa.or_(
        c.authorization_id.is_not(None), c.itmo_id.is_not(None), c.first_transfer_date.is_not(None)
    )
    if activities:
        clause = sa.or_(clause, c.project_id.in_(sorted(activities)))
    query = sa.select(unit_block).where(clause, c.status != "withdrawn")
    return [block_from_row(r) for r in conn.execute(query)]


def run_checks(
    conn: sa.Connection, caps: Mapping[str, Mapping[int, int]], *, store: bool = True
) -> CheckReport:
    """Every rule over the whole index, inside the caller's transaction; with ``store`` the
    alerts are opened, updated and resolved through the alert lifecycle (basis article6)."""
    auths = stored_authorizations(conn)
    activities = {a.activity_id for a in auths if a.activity_id and a.kind != "loa"}
    facts = Facts(_relevant_blocks(conn, activities), auths, caps)
    report = CheckReport()
    for rule in RULES:
        report.drafts.extend(_draft(rule, f) for f in rule.find(facts))
    if store:
        lifecycle.lock(conn)
        report.changes = lifecycle.reconcile(
            conn, report.drafts, [], scope=None, basis=lifecycle.BASIS_ARTICLE6
        )
    return report
