"""Planted cases that only project-level reconciliation can see (issue 17): moves that
re-number credits and projects registered twice, with their ground truth.

Each case is written like any record (ACR and CAR in their public reports, CARB's rows in its
issuance table, read as ``numbering: own`` with the OPR projects they name), its truth appended
to ``project_truth.json``, and the operator's mapping of projects no record links (a project
registered at two programmes) to ``project_map.csv``. The patterns, each with its expected
finding (``kind``, ``basis: project``):

* ``conversion-balanced``: an ACR or CAR cancellation "Convert to ARB offset credits" and the
  CARB issuance of the same project, vintage and quantity: a ``compliance_move`` link;
* ``conversion-excess``: the CARB issuance is larger than what was cancelled for it: a
  ``quantity_mismatch`` alert (both registries' sets are complete in a world);
* ``registry-move``: a CARB row naming two OPR projects (CAR, then ACR in its comment), the
  CAR cancellation it was issued from beside it: a ``registry_move`` link (and the
  ``compliance_move``);
* ``double-registration``: one project, mapped as one in ``project_map.csv``, issuing the same
  vintage at ACR and CAR with nothing cancelled: a ``double_issuance`` alert;
* ``double-registration-srn``: an SRN-PPI project naming its Verra id
  (``kode_proyek_standar``, Indonesia's mutual recognition) issuing the same vintage there and
  at Verra, nothing cancelled: a ``double_issuance`` alert (near miss: different vintages);
* near misses that stay quiet: the same mapped pair issuing *different* vintages; a pair of
  projects with the same name that nobody mapped.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from metaregistry.mock.world.issuer import Issuer
from metaregistry.mock.world.model import Block, Project

__all__ = ["PROJECT_PATTERNS", "plant_project_cases"]

_EXPECTED = {
    "conversion-balanced": ("link", "compliance_move"),
    "conversion-excess": ("alert", "quantity_mismatch"),
    "registry-move": ("link", "registry_move"),
    "double-registration": ("alert", "double_issuance"),
    "double-registration-srn": ("alert", "double_issuance"),
    "near-miss-vintage": (None, None),
    "near-miss-srn-vintage": (None, None),
    "near-miss-name": (None, None),
}
PROJECT_PATTERNS = tuple(_EXPECTED)


def _fresh(issuer: Issuer, registry: str, base: int, span: int) -> int:
    """A project number outside the catalog's (from ``base``), never handed out twice, so no
    other record of the world shares the project."""
    number = base + issuer.rng.randrange(span)
    while (registry, number) in issuer.reserved_projects:
        number += 1
    issuer.reserved_projects.add((registry, number))
    return number


def _opr(issuer: Issuer, registry: str) -> Project:
    """A fresh ACR or CAR project."""
    number = _fresh(issuer, registry, 90_000, 9_999)
    code = f"{'ACR' if registry == 'acr' else 'CAR'}{number}"
    return Project(registry, code, number, f"Planted project {code}", "US", "US-CA",
                   "mine methane", "ARB MMC")  # fmt: skip


def _verra_project(issuer: Issuer) -> Project:
    """A fresh Verra project."""
    number = _fresh(issuer, "verra", 90_000, 9_999)
    return Project("verra", f"VCS{number}", number, f"Planted project VCS{number}", "ID",
                   "ID-KT", "forestry", "VM0007")  # fmt: skip


def _srn_project(issuer: Issuer, vintage: int) -> Project:
    """A fresh SRN-PPI project."""
    number = _fresh(issuer, "srn-ppi", 900_000, 99_999)
    code = f"PPI-{vintage}-{number}"
    return Project("srn-ppi", code, number, f"Planted project {code}", "ID", "ID-KT",
                   "forestry", "SRN")  # fmt: skip


def _us_block(issuer: Issuer, project: Project, vintage: int, quantity: int, status: str,
              reason: str | None, day: int) -> Block:  # fmt: skip
    batch = issuer.numbering.batch(project.registry, 3000 if project.registry == "acr" else 9000)
    block = issuer.us_registry(project.registry, project, vintage, batch, 1, quantity, day)
    block.status, block.status_on, block.reason = status, day, reason
    return block


def _carb(issuer: Issuer, opr: list[Project], vintage: int, quantity: int, day: int) -> Block:
    number = 5000 + issuer.rng.randrange(4_999)
    ident = f"CAMM{number}-{chr(ord('A') + issuer.rng.randrange(6))}"
    code = ident.split("-", maxsplit=1)[0]
    project = Project(
        "carb", code, number, "CARB issuance", "US", "US-CA", "mine methane", "ARB MMC"
    )
    refs = [f"opr_project={opr[0].registry}:{opr[0].code}"]
    refs += [f"opr_project_comment={p.registry}:{p.code}" for p in opr[1:]]
    return Block("carb", ident, "carb", ident, 1, quantity, "issued", project, vintage, day,
                 numbering="own", cross_refs="; ".join(sorted(refs)))  # fmt: skip


def plant_project_cases(issuer: Issuer, per_pattern: int, out_dir: Path) -> int:
    """Plant ``per_pattern`` cases of each pattern; write ``project_truth.json`` and
    ``project_map.csv``. Returns the number of cases."""
    cases: list[dict[str, Any]] = []
    mapping: list[str] = ["project_a,project_b,note"]
    for round_ in range(per_pattern):
        for name in PROJECT_PATTERNS:
            day = issuer.day()
            vintage = issuer.vintage(day)
            quantity = issuer.quantity()
            source_registry = "acr" if round_ % 2 == 0 else "car"
            reason = "Convert to ARB offset credits" if source_registry == "acr" else "ARB"
            key: str
            if name in ("conversion-balanced", "conversion-excess"):
                opr = _opr(issuer, source_registry)
                issuer.add(_us_block(issuer, opr, vintage, quantity, "cancelled", reason, day))
                extra = 0 if name == "conversion-balanced" else 1 + issuer.rng.randrange(quantity)
                issuer.add(_carb(issuer, [opr], vintage, quantity + extra, issuer.after(day, 60)))
                key = f"{opr.registry}:{opr.code}"
            elif name == "registry-move":
                # the credits CARB issued came from the first OPR (its cancellation is there);
                # the row names the OPR the project moved to in its comment
                first, second = _opr(issuer, "car"), _opr(issuer, "acr")
                issuer.add(_us_block(issuer, first, vintage, quantity, "cancelled", "ARB", day))
                issuer.add(_carb(issuer, [first, second], vintage, quantity, issuer.after(day, 60)))
                key = min(f"car:{first.code}", f"acr:{second.code}")
            elif name in ("double-registration-srn", "near-miss-srn-vintage"):
                # registered in SRN-PPI first, naming its Verra id (mutual recognition), and
                # issuing at both for one vintage with nothing cancelled: counted twice
                verra = _verra_project(issuer)
                local = _srn_project(issuer, vintage)
                other = vintage + (1 if name == "near-miss-srn-vintage" else 0)
                batch = issuer.numbering.batch("spe-grk")
                spe = issuer.spe_grk(local, vintage, batch, 1, quantity, day)
                spe.standard_project = verra.code
                issuer.add(spe)
                start, end = issuer.numbering.take_vcs(quantity, quantity + 100)
                vcs_batch = issuer.numbering.batch("vcs", 20000)
                issuer.add(issuer.verra(verra, other, vcs_batch, start, end, day))
                key = min(f"srn-ppi:{local.code}", f"verra:{verra.code}")
            else:
                a, b = _opr(issuer, "acr"), _opr(issuer, "car")
                if name == "near-miss-name":
                    b = replace(b, name=a.name)  # same name, never mapped: a suggestion at most
                else:
                    mapping.append(f"acr:{a.code},car:{b.code},one project at two programmes")
                other = vintage + (1 if name == "near-miss-vintage" else 0)
                issuer.add(_us_block(issuer, a, vintage, quantity, "issued", None, day))
                issuer.add(_us_block(issuer, b, other, quantity, "issued", None, day))
                key = f"acr:{a.code}"
            kind = _EXPECTED[name]
            cases.append({"pattern": name, "project_key": key, "finding": kind[0], "kind": kind[1]})
    (out_dir / "project_truth.json").write_text(
        json.dumps({"cases": cases}, indent=1), encoding="utf-8"
    )
    (out_dir / "project_map.csv").write_text("\n".join(mapping) + "\n", encoding="utf-8")
    return len(cases)
