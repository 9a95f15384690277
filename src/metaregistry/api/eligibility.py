"""The eligibility answer (issue 19, item 3): may these units be used for CORSIA, Singapore's
carbon tax (``sg-icc``) or towards a party's NDC (``ndc:<party>``)?

It is the lookup (:func:`metaregistry.api.lookup.lookup`: every registry's blocks holding the
units, with their inclusion proofs and the signed checkpoint) read against the Article 6
authorizations the index holds. Each reason is one line with a stable ``code`` and whether it
holds (``ok``); the units are eligible when every reason holds:

* ``authorized``: a current LoA (not revoked) covers the units: a block names it, or its
  activity and vintage are the LoA's; a letter of acknowledgement or a results-based payment
  on the activity makes them ineligible (``acknowledged_only``, ``paid_results``);
* ``purpose``: the LoA authorizes this use (OIMP, and this OIMP when it names some; or NDC
  use by this acquiring party);
* ``corresponding_adjustment``: the host applied the adjustment (``pending`` is not yet);
* ``not_used``: no registry shows any of the units retired (used) already;
* ``no_open_alerts``: no open alert (double use, double claim ...) involves the blocks.

This is the check Singapore's NEA makes before cancelling a serial offered against the carbon
tax, and what a CORSIA buyer needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from metaregistry.api.errors import ApiError
from metaregistry.api.lookup import Features, lookup
from metaregistry.api.queries import Db
from metaregistry.api.unit_query import UnitQuery
from metaregistry.article6.store import authorizations as stored_authorizations
from metaregistry.authorization import Authorization

__all__ = ["USES", "Use", "eligibility", "read_use"]

USES: Final = ("corsia", "sg-icc", "ndc:<party>")
_NDC = re.compile(r"^ndc:([A-Za-z]{2})$")
_MAX_BLOCKS: Final = 1000


@dataclass(frozen=True, slots=True)
class Use:
    """``oimp`` (``name`` corsia or sg-icc) or ``ndc`` (``party`` the acquiring party)."""

    purpose: str
    name: str
    party: str | None = None

    def text(self) -> str:
        return f"ndc:{self.party}" if self.purpose == "ndc" else self.name


def read_use(text: str | None) -> Use:
    """The ``use`` parameter; ApiError 400 naming it otherwise."""
    value = (text or "").strip()
    if value in ("corsia", "sg-icc"):
        return Use("oimp", value)
    match = _NDC.match(value)
    if match is not None:
        return Use("ndc", "ndc", match.group(1).upper())
    raise ApiError(
        400,
        "invalid_parameter",
        f"use must be one of {', '.join(USES)}",
        field="use",
        value=text,
    )


def _reason(code: str, ok: bool, text: str) -> dict[str, Any]:
    return {"code": code, "ok": ok, "text": text}


def _vintage(block: dict[str, Any]) -> int | None:
    start = block.get("vintage_start")
    return int(start[:4]) if isinstance(start, str) and start[:4].isdigit() else None


def _covering(
    blocks: Sequence[dict[str, Any]], auths: Sequence[Authorization]
) -> list[Authorization]:
    named = {b.get("authorization_id") for b in blocks if b.get("authorization_id")}
    activities = {
        (b.get("project_id"), _vintage(b)) for b in blocks if b.get("project_id") is not None
    }
    out = []
    for a in auths:
        if a.authorization_id in named or any(
            a.activity_id == project and (year is None or a.covers_vintage(year))
            for project, year in activities
        ):
            out.append(a)
    return out


def _authorized(found: Sequence[Authorization]) -> tuple[list[dict[str, Any]], list[Authorization]]:
    reasons: list[dict[str, Any]] = []
    for a in found:
        if a.kind == "loack":
            reasons.append(
                _reason(
                    "acknowledged_only",
                    False,
                    f"{a.host_party} acknowledged the activity outside authorization "
                    f"({a.authorization_id}, {a.registry}): its units are not to be transferred",
                )
            )
        elif a.kind == "results-based-payment":
            payer = ", ".join(a.acquiring_parties) or "a party"
            reasons.append(
                _reason(
                    "paid_results",
                    False,
                    f"{payer} paid {a.host_party} for these results (Article 6.8, "
                    f"{a.authorization_id}): they stay with {a.host_party}'s NDC",
                )
            )
    loas = [a for a in found if a.kind in ("loa", "jcm-estimate") and a.status != "revoked"]
    revoked = [a for a in found if a.status == "revoked"]
    if loas:
        a = loas[0]
        reasons.insert(
            0,
            _reason(
                "authorized",
                True,
                f"authorized by {', '.join(a.authorized_by) or a.host_party} in "
                f"{a.authorization_id} ({a.registry}, {a.date}) for "
                f"{', '.join(a.acquiring_parties) or 'any acquirer'}",
            ),
        )
    elif revoked:
        reasons.insert(
            0,
            _reason(
                "authorized",
                False,
                f"the authorization {revoked[0].authorization_id} ({revoked[0].registry}) "
                f"was revoked",
            ),
        )
    else:
        reasons.insert(
            0, _reason("authorized", False, "no authorization in the index covers these units")
        )
    return reasons, loas


def _purpose(use: Use, loas: Sequence[Authorization]) -> dict[str, Any]:
    if not loas:
        return _reason("purpose", False, f"no LoA to authorize use {use.text()}")
    a = loas[0]
    if use.purpose == "oimp":
        ok = "oimp" in a.purposes and (not a.oimp_uses or use.name in a.oimp_uses)
        named = f" ({', '.join(a.oimp_uses)})" if a.oimp_uses else ""
        text = (
            f"{a.authorization_id} authorizes use for other international mitigation "
            f"purposes{named}"
            if ok
            else f"{a.authorization_id} authorizes {' and '.join(a.purposes) or 'no purpose'}"
            f"{named}, not {use.name}"
        )
        return _reason("purpose", ok, text)
    ok = "ndc" in a.purposes and use.party in a.acquiring_parties
    text = (
        f"{a.authorization_id} authorizes use towards {use.party}'s NDC"
        if ok
        else f"{a.authorization_id} authorizes {' and '.join(a.purposes) or 'no purpose'} "
        f"for {', '.join(a.acquiring_parties) or 'no acquiring party'}, not {use.party}'s NDC"
    )
    return _reason("purpose", ok, text)


def _adjustment(blocks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    states = {
        f"{b['registry']} {b['serial']}": b.get("corresponding_adjustment") or "not stated"
        for b in blocks
        if b.get("authorization_id") or b.get("itmo_id") or b.get("corresponding_adjustment")
    }
    if not states:
        return _reason("corresponding_adjustment", False, "no registry states an adjustment")
    if all(state == "applied" for state in states.values()):
        return _reason("corresponding_adjustment", True, "corresponding adjustment applied")
    pending = [k for k, v in states.items() if v != "applied"]
    return _reason(
        "corresponding_adjustment",
        False,
        "corresponding adjustment not applied: "
        + "; ".join(f"{k}: {states[k]}" for k in pending[:3]),
    )


def _not_used(blocks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    used = [b for b in blocks if b.get("status") == "retired"]
    if not used:
        where = sorted({b["registry"] for b in blocks})
        return _reason("not_used", True, f"not used in any registry ({', '.join(where)})")
    return _reason(
        "not_used",
        False,
        "already used (retired) in "
        + "; ".join(f"{b['registry']} {b['serial']}" for b in used[:3]),
    )


def _no_alerts(blocks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    kinds = sorted(
        {
            str(a.get("kind"))
            for b in blocks
            for a in b.get("alerts", [])
            if a.get("status") != "resolved"
        }
    )
    if not kinds:
        return _reason("no_open_alerts", True, "no open alert involves these units")
    return _reason("no_open_alerts", False, "open alerts: " + ", ".join(kinds))


def eligibility(db: Db, query: UnitQuery, use: Use, *, features: Features) -> dict[str, Any] | None:
    """The answer, or None when no block in the index holds any of the units."""
    found = lookup(db, query, limit=_MAX_BLOCKS, features=features)
    if found is None:
        return None
    blocks = [b for b in found["blocks"] if b.get("status") != "withdrawn"]
    covering = _covering(blocks, stored_authorizations(db.sa))
    reasons, loas = _authorized(covering)
    reasons.append(_purpose(use, loas))
    reasons.append(_adjustment(blocks))
    reasons.append(_not_used(blocks))
    reasons.append(_no_alerts(blocks))
    return {
        "query": found["query"],
        "use": use.text(),
        "eligible": all(r["ok"] for r in reasons),
        "reasons": reasons,
        "authorizations": [a.to_json() for a in covering],
        "blocks": found["blocks"],
        "checkpoint": found["checkpoint"],
    }
