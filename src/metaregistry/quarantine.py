"""Retrying quarantined records once the reason is fixed (a connector release, a schema fix)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metaregistry import plugins
from metaregistry.connector import RawRecord
from metaregistry.index import store
from metaregistry.ingest import now_utc, store_page, utc_stamp
from metaregistry.pipeline import prepare_page

__all__ = ["retry_entries"]


def retry_entries(engine: Engine, ids: list[int] | None = None) -> dict[str, list[Any]]:
    """Re-run open quarantine entries (or the given ids); store the ones that now pass."""
    table = store.quarantine_table
    stmt = sa.select(table).where(table.c.resolved_at.is_(None)).order_by(table.c.id)
    if ids:
        stmt = stmt.where(table.c.id.in_(ids))
    resolved: list[int] = []
    failing: list[dict[str, Any]] = []
    with engine.begin() as conn:
        rows = list(conn.execute(stmt).mappings())
        for row in rows:
            connector = plugins.load(row["connector"])
            try:
                payload = json.loads(row["payload"])
            except json.JSONDecodeError:
                payload = None
            if not isinstance(payload, dict):
                failing.append({"id": row["id"], "error": "payload is not a JSON object"})
                continue
            record = RawRecord(payload, row["ref"], row["stream"])
            prepared = prepare_page(connector, [record], utc_stamp())
            if prepared.quarantined:
                error = prepared.quarantined[0].error
                conn.execute(
                    table.update()
                    .where(table.c.id == row["id"])
                    .values(attempts=table.c.attempts + 1, error=error)
                )
                failing.append({"id": row["id"], "error": error})
                continue
            store_page(conn, connector, prepared, observed_at=utc_stamp())
            conn.execute(
                table.update().where(table.c.id == row["id"]).values(resolved_at=now_utc())
            )
            resolved.append(row["id"])
    return {"resolved": resolved, "failing": failing}
