"""Article 6 ground truth (issue 19, item 5): each check's pattern planted, with the near
misses that must stay quiet, written to ``article6_truth.json``:

``{"findings": [[rule, subject], ...], "near_misses": [[what, subject], ...],
"export_caps": {party: {year: cap}}}``

A finding is what :mod:`metaregistry.article6.checks` must report (rule and subject, as its
alerts' ``rules``/``scope`` carry them), every one and nothing else, given ``export_caps`` as
the ``[article6]`` configuration. Planted here:

* ``loa-quantity``: a TCCR LoA authorizing 5 t fewer than its block first-transferred; near
  miss: an LoA whose blocks use exactly its quantity (two blocks adding up to it);
* ``no-loa``: an SRN-PPI ITMO whose LoA the registry never published; a TCCR ITMO under a
  revoked LoA;
* ``loack-transferred`` (and ``no-loa``: an acknowledgement authorizes nothing): TCCR units of
  an activity under a letter of acknowledgement, first-transferred;
* ``paid-results-transferred`` (and ``no-loa``): SRN-PPI units of a vintage paid for as
  results (Norway), first-transferred; near miss: the same activity's next vintage, under an
  LoA of its own;
* ``jcm-both-parties``: a JCM ITMO whose project only Japan authorized; near miss: one both
  parties authorized;
* ``ca-not-applied``: every block written first-transferred with the adjustment not applied
  (the writer records them: the serial cases plant some); near miss: the background's
  ``pending`` ones, inside their window;
* ``export-cap``: the (party, year) with the most first-transferred units gets a cap one
  below them; near miss: the next one gets a cap exactly at them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from metaregistry.mock.world.issuer import JCM_PARTNER_LEDGERS, Issuer
from metaregistry.mock.world.model import Article6, Block

__all__ = ["plant_article6_cases"]


def _transferred(issuer: Issuer, block: Block, a6: Article6) -> Block:
    a6.first_transfer_on = issuer.after(a6.loa_on, 200)
    a6.itmo = f"ITMO-{block.project.country}-{issuer.rng.randrange(10**8):08d}"
    a6.acquiring_party = a6.acquiring_party or "SG"
    block.a6 = a6
    block.status, block.status_on = "transferred", a6.first_transfer_on
    block.reason = "Article 6.2 first transfer"
    return issuer.add(block)


def _loa(issuer: Issuer, block: Block, **fields: Any) -> Article6:
    party = block.project.country
    base = Article6(
        loa=f"LoA-{party}-P{issuer.rng.randrange(10**6):06d}",
        loa_on=issuer.after(block.issued_on, 100),
        purpose="ndc-and-oimp",
        ca="applied",
    )
    return dataclasses.replace(base, **fields)


def _tver(issuer: Issuer, quantity: int, vintage: int | None = None) -> Block:
    project = issuer.project("tccr")
    day = issuer.day()
    batch = issuer.numbering.batch("tver")
    return issuer.tver(project, vintage or issuer.vintage(day), batch, 1, quantity, day)


def _spe(issuer: Issuer, quantity: int, project: Any = None, vintage: int | None = None) -> Block:
    project = project or issuer.project("srn-ppi")
    day = issuer.day()
    batch = issuer.numbering.batch("spe-grk")
    return issuer.spe_grk(project, vintage or issuer.vintage(day), batch, 1, quantity, day)


def _key(block: Block) -> str:
    return f"{block.registry}:{block.record_id}"


def plant_article6_cases(issuer: Issuer, out_dir: Path) -> int:
    """Plant the cases; write ``article6_truth.json``. Returns the number of findings."""
    findings: list[tuple[str, str]] = []
    near: list[tuple[str, str]] = []
    q = issuer.quantity
    # loa-quantity: 5 t beyond the LoA
    over = _tver(issuer, q() + 10)
    a6 = _loa(issuer, over)
    a6.quantity = over.quantity - 5
    _transferred(issuer, over, a6)
    findings.append(("loa-quantity", f"tccr:{a6.loa}"))
    # near miss: two blocks using exactly the LoA's quantity
    first, second = _tver(issuer, q()), _tver(issuer, q())
    exact = _loa(issuer, first)
    exact.quantity = first.quantity + second.quantity
    _transferred(issuer, first, exact)
    _transferred(issuer, second, exact)
    near.append(("loa-at-its-quantity", f"tccr:{exact.loa}"))
    # no-loa: never published; revoked
    unpublished = _spe(issuer, q())
    _transferred(issuer, unpublished, _loa(issuer, unpublished, published=True))
    findings.append(("no-loa", _key(unpublished)))
    revoked = _tver(issuer, q())
    _transferred(issuer, revoked, _loa(issuer, revoked, status="revoked"))
    findings.append(("no-loa", _key(revoked)))
    # a letter of acknowledgement's activity, first-transferred
    ack = _tver(issuer, q())
    ack_a6 = _loa(issuer, ack, kind="loack")
    _transferred(issuer, ack, ack_a6)
    findings += [("loack-transferred", f"tccr:{ack_a6.loa}"), ("no-loa", _key(ack))]
    # results paid for (Article 6.8), first-transferred; the next vintage under an LoA is quiet
    paid = _spe(issuer, q())
    paid_a6 = _loa(issuer, paid, kind="results-based-payment", payer="NO")
    _transferred(issuer, paid, paid_a6)
    findings += [("paid-results-transferred", f"srn-ppi:{paid_a6.loa}"), ("no-loa", _key(paid))]
    later = _spe(issuer, q(), project=paid.project, vintage=paid.vintage + 1)
    _transferred(issuer, later, _loa(issuer, later))
    near.append(("paid-activity-other-vintage", _key(later)))
    # JCM: only Japan authorized; near miss: both
    for both in (False, True):
        partner = issuer.rng.choice(tuple(JCM_PARTNER_LEDGERS))
        project = issuer.project(f"jcm-{partner.lower()}")
        day = issuer.day()
        issuance = issuer.numbering.batch(f"jcm-{partner}")
        size = q()
        ledger = JCM_PARTNER_LEDGERS[partner]
        block = issuer.jcm(ledger, project, issuer.vintage(day), issuance, 1, size, day, size)
        _transferred(issuer, block, _loa(issuer, block, authorized_by_partner=both))
        if both:
            near.append(("jcm-both-parties-authorized", _key(block)))
        else:
            findings.append(("jcm-both-parties", _key(block)))
    writer = issuer.writer
    findings += writer.article6_findings
    # export caps: the busiest (party, year) one below its units, the next one exactly at them
    ranked = sorted(writer.first_transferred.items(), key=lambda kv: (-kv[1], kv[0]))
    caps: dict[str, dict[str, int]] = {}
    if len(ranked) >= 2:
        (p1, y1), units1 = ranked[0]
        (p2, y2), units2 = ranked[1]
        caps.setdefault(p1, {})[str(y1)] = units1 - 1
        caps.setdefault(p2, {})[str(y2)] = units2
        findings.append(("export-cap", f"{p1}:{y1}"))
        near.append(("export-at-cap", f"{p2}:{y2}"))
    truth = {
        "findings": sorted(findings),
        "near_misses": sorted(near),
        "export_caps": caps,
    }
    (out_dir / "article6_truth.json").write_text(
        json.dumps(truth, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return len(findings)
