"""``GET /v1/article6/parties/{party}`` (issue 19, item 4): a party's Article 6 ledger as the
API and the web page's party view read it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from metaregistry.api.queries import Db
from metaregistry.article6.aef import AEF_VERSION, tables
from metaregistry.article6.ledger import ledger
from metaregistry.detect.alerts import public_document
from metaregistry.detect.tables import alert_side_table, alert_table

__all__ = ["party_answer"]


def _open_alerts(conn: sa.Connection, record_keys: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Open Article 6 alerts (scheme ``article6``) involving the party's records."""
    query = (
        sa.select(
            alert_table,
            alert_side_table.c.registry.label("side_registry"),
            alert_side_table.c.record_id.label("side_record_id"),
        )
        .join(alert_side_table, alert_side_table.c.alert_id == alert_table.c.id)
        .where(alert_table.c.scheme == "article6", alert_table.c.status != "resolved")
        .order_by(alert_table.c.id)
    )
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(query).mappings():
        if (row["side_registry"], row["side_record_id"]) in record_keys and row["id"] not in out:
            doc = public_document(row)
            out[row["id"]] = {
                k: doc.get(k) for k in ("id", "kind", "severity", "status", "explanation")
            }
    return list(out.values())


def party_answer(db: Db, party: str, year: int | None) -> dict[str, Any]:
    conn = db.sa
    book = ledger(conn, party)
    keys = {x.block.key for x in book.actions} | {b.key for b in book.held}
    answer: dict[str, Any] = {
        "party": party,
        "totals": [{"year": y, **t} for y, t in book.totals().items()],
        "authorizations": len(book.authorizations),
        "alerts": _open_alerts(conn, keys),
    }
    if year is not None:
        answer["year"] = year
        answer["format"] = AEF_VERSION
        answer["tables"] = tables(book, year)
    return answer
