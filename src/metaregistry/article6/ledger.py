"""The per-party Article 6 ledger (issue 19, item 4), built from the index.

For a party and a year: the authorizations it issued (host) that year, the actions on units
it hosts (first transfers, uses, cancellations) dated in the year, what stays held, and
yearly totals (authorized, first-transferred, used) for the party view. Every line names the
index records behind it (``records``: ``registry/record_id``) and the unit range (the ITMO
identifiers: the block's first and last unit numbers in its scheme and scope).

A block belongs to the party when the authorization it names has that host, or, naming none
the index holds, when its ``country`` is the party. Its action is its first transfer (dated
by ``first_transfer_date``), its use (``retired``, dated by ``status_date``) or its
cancellation (``cancelled``, likewise); a block first-transferred and later used gives both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from metaregistry.article6.store import authorizations as stored_authorizations
from metaregistry.authorization import Authorization
from metaregistry.index.store import block_from_row, unit_block
from metaregistry.model import UnitBlock

__all__ = ["Action", "Ledger", "ledger"]


@dataclass(frozen=True, slots=True)
class Action:
    """One AEF action on one block."""

    type: str  # "First transfer", "Use", "Cancellation"
    date: str
    block: UnitBlock
    authorization: Authorization | None

    @property
    def year(self) -> int:
        return int(self.date[:4])

    def to_json(self) -> dict[str, Any]:
        b, a = self.block, self.authorization
        return {
            "type": self.type,
            "date": self.date,
            "authorization_id": b.authorization_id,
            "registry": b.registry,
            "itmo_first": b.block_start,
            "itmo_last": b.block_end,
            "scheme": b.scheme,
            "scope": b.scope,
            "quantity": b.quantity,
            "vintage": int(b.vintage_start[:4]) if b.vintage_start else None,
            "acquiring_parties": a.acquiring_parties if a else [],
            "corresponding_adjustment": b.corresponding_adjustment,
            "itmo_id": b.itmo_id,
            "records": [f"{b.registry}/{b.record_id}"],
        }


@dataclass(slots=True)
class Ledger:
    party: str
    authorizations: list[Authorization] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    held: list[UnitBlock] = field(default_factory=list)

    def totals(self) -> dict[int, dict[str, int]]:
        """Per year: units authorized (LoAs dated that year), first-transferred, used,
        cancelled."""
        out: dict[int, dict[str, int]] = defaultdict(
            lambda: {"authorized": 0, "first_transferred": 0, "used": 0, "cancelled": 0}
        )
        for a in self.authorizations:
            if a.kind in ("loa", "jcm-estimate") and a.status != "revoked":
                out[int(a.date[:4])]["authorized"] += a.quantity or 0
        key = {"First transfer": "first_transferred", "Use": "used", "Cancellation": "cancelled"}
        for action in self.actions:
            out[action.year][key[action.type]] += action.block.quantity
        return {year: out[year] for year in sorted(out)}

    def of_year(self, year: int) -> Ledger:
        return Ledger(
            self.party,
            [a for a in self.authorizations if int(a.date[:4]) == year],
            [x for x in self.actions if x.year == year],
            self.held,
        )


def _blocks(conn: sa.Connection, party: str, ids: Sequence[str]) -> Iterator[UnitBlock]:
    c = unit_block.c
    article6 = sa.or_(c.first_transfer_date.is_not(None), c.itmo_id.is_not(None))
    named = c.authorization_id.in_(list(ids)) if ids else sa.false()
    query = sa.select(unit_block).where(
        c.status != "withdrawn",
        sa.or_(
            named,
            sa.and_(c.country == party, c.authorization_id.is_not(None)),
            sa.and_(c.country == party, article6),
        ),
    )
    for row in conn.execute(query):
        yield block_from_row(row)


def ledger(conn: sa.Connection, party: str) -> Ledger:
    """The party's ledger as a host, every year."""
    every = stored_authorizations(conn)
    by_id = {a.authorization_id: a for a in every}
    own = [a for a in every if a.host_party == party]
    out = Ledger(party, own)
    for b in _blocks(conn, party, [a.authorization_id for a in own]):
        auth = by_id.get(b.authorization_id or "")
        host = auth.host_party if auth is not None else b.country
        if host != party:
            continue
        if b.first_transfer_date is not None:
            out.actions.append(Action("First transfer", b.first_transfer_date, b, auth))
        if b.status == "retired" and b.status_date:
            out.actions.append(Action("Use", b.status_date, b, auth))
        elif b.status == "cancelled" and b.status_date:
            out.actions.append(Action("Cancellation", b.status_date, b, auth))
        elif b.status in ("issued", "pending", "buffer") and b.authorization_id:
            out.held.append(b)
    out.actions.sort(key=lambda x: (x.date, x.block.registry, x.block.record_id))
    return out
