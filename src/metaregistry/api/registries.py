"""What the index holds per registry and how fresh each connector's data is: the answer of
``GET /v1/registries`` and the gauges of ``/metrics``.

Counting blocks per registry and status reads the whole ``unit_block`` table, so the result
is computed at most once per ``[api] stats_ttl`` seconds (default 30) per process, by one
request while the others wait for it; freshness (the small ``sync_run`` table) comes with it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from metaregistry import plugins
from metaregistry.api.metrics import Gauge
from metaregistry.api.queries import Db
from metaregistry.api.reader import Reader
from metaregistry.index.tables import SyncRunRow

__all__ = ["IndexStats", "RegistryStats", "read_stats"]

sync_run: sa.Table = SyncRunRow.__table__  # type: ignore[attr-defined]
_RUN_COLUMNS = (
    "outcome",
    "started_at",
    "finished_at",
    "records_seen",
    "records_written",
    "quarantined",
    "withdrawn",
    "error",
)


@dataclass(frozen=True, slots=True)
class RegistryStats:
    """One reading of the index's per-registry counts and the connectors' sync history."""

    computed_at: datetime
    totals: list[dict[str, Any]]  # connector, registry, status, blocks, units
    runs: dict[str, dict[str, Any]]  # connector -> facts of its syncs
    connectors: list[str]
    configured: frozenset[str]
    log_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        registries: dict[str, dict[str, Any]] = {}
        blocks = units = 0
        for row in self.totals:
            entry = registries.setdefault(
                row["registry"],
                {
                    "registry": row["registry"],
                    "connectors": [],
                    "blocks": 0,
                    "units": 0,
                    "by_status": {},
                },
            )
            if row["connector"] not in entry["connectors"]:
                entry["connectors"].append(row["connector"])
            entry["blocks"] += row["blocks"]
            entry["units"] += row["units"]
            status = entry["by_status"].setdefault(row["status"], {"blocks": 0, "units": 0})
            status["blocks"] += row["blocks"]
            status["units"] += row["units"]
            blocks += row["blocks"]
            units += row["units"]
        names = sorted({*self.connectors, *self.runs, *(r["connector"] for r in self.totals)})
        return {
            "computed_at": _iso(self.computed_at),
            "totals": {"blocks": blocks, "units": units},
            "registries": [registries[name] for name in sorted(registries)],
            "connectors": [self._connector(name) for name in names],
        }

    def _connector(self, name: str) -> dict[str, Any]:
        runs = self.runs.get(name, {})
        last_ok = runs.get("last_success_at")
        return {
            "name": name,
            "installed": name in self.connectors,
            "configured": name in self.configured,
            "registries": sorted({r["registry"] for r in self.totals if r["connector"] == name}),
            "last_run": runs.get("last_run"),
            "last_success_at": _iso(last_ok) if last_ok else None,
            "age_seconds": self.age(name),
            "last_error": runs.get("last_error"),
        }

    def age(self, connector: str) -> float | None:
        """Seconds since the connector's last successful sync finished (None: never)."""
        last_ok: datetime | None = self.runs.get(connector, {}).get("last_success_at")
        if last_ok is None:
            return None
        return round(max(0.0, (self.computed_at - last_ok).total_seconds()), 3)

    def gauges(self) -> list[Gauge]:
        out: list[Gauge] = []
        for row in self.totals:
            labels = (("registry", row["registry"]), ("status", row["status"]))
            out.append(
                Gauge(
                    "metaregistry_index_blocks", "Unit blocks in the index.", row["blocks"], labels
                )
            )
            out.append(
                Gauge(
                    "metaregistry_index_units", "Units in the index's blocks.", row["units"], labels
                )
            )
        for name, runs in self.runs.items():
            age = self.age(name)
            if age is not None:
                out.append(
                    Gauge(
                        "metaregistry_sync_last_success_age_seconds",
                        "Seconds since the connector's last successful sync.",
                        age,
                        (("connector", name),),
                    )
                )
            last = runs.get("last_run")
            if last is not None:
                out.append(
                    Gauge(
                        "metaregistry_sync_last_run_ok",
                        "1 when the connector's latest sync succeeded, else 0.",
                        1 if last["outcome"] == "ok" else 0,
                        (("connector", name),),
                    )
                )
        if self.log_size is not None:
            out.append(
                Gauge(
                    "metaregistry_log_tree_size", "Leaves in the tamper-evident log.", self.log_size
                )
            )
        out.append(
            Gauge(
                "metaregistry_stats_computed_at_seconds",
                "When these index gauges were computed (Unix time).",
                self.computed_at.timestamp(),
            )
        )
        return out


def read_stats(db: Db, configured: Sequence[str], *, with_log: bool) -> RegistryStats:
    totals = db.rows(
        "SELECT connector, registry, status, COUNT(*) AS blocks,"
        " COALESCE(SUM(quantity), 0) AS units FROM unit_block"
        " GROUP BY connector, registry, status ORDER BY connector, registry, status"
    )
    for row in totals:
        row["blocks"], row["units"] = int(row["blocks"]), int(row["units"])
    log_size = None
    if with_log:
        last = db.values("SELECT MAX(idx) FROM log_leaves")[0]
        log_size = 0 if last is None else int(last) + 1
    return RegistryStats(
        computed_at=datetime.now(UTC),
        totals=totals,
        runs=_runs(db.sa),
        connectors=plugins.available(),
        configured=frozenset(configured),
        log_size=log_size,
    )


def _source_totals(text: str | None) -> tuple[dict[str, dict[str, int]], list[str]]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}, []
    if not isinstance(data, dict):
        return {}, []
    totals = data.get("totals") if isinstance(data.get("totals"), dict) else {}
    drift = data.get("drift") if isinstance(data.get("drift"), list) else []
    clean = {
        str(stream): {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}
        for stream, counts in (totals or {}).items()
        if isinstance(counts, dict)
    }
    return clean, [str(line) for line in drift or []]


def _runs(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    c = sync_run.c
    out: dict[str, dict[str, Any]] = {}
    latest = sa.select(sa.func.max(c.id)).group_by(c.connector)
    for row in conn.execute(sa.select(sync_run).where(c.id.in_(latest))):
        m = row._mapping
        last = {
            name: _iso(m[name]) if isinstance(m[name], datetime) else m[name]
            for name in _RUN_COLUMNS
        }
        # what the source said of itself and where the sync disagreed (distinct records)
        last["source_totals"], last["drift"] = _source_totals(m["source_totals"])
        out.setdefault(m["connector"], {})["last_run"] = last
    ok = sa.select(c.connector, sa.func.max(c.finished_at)).where(c.outcome == "ok")
    for connector, finished in conn.execute(ok.group_by(c.connector)):
        if finished is not None:
            out.setdefault(connector, {})["last_success_at"] = _utc(finished)
    failed = sa.select(sa.func.max(c.id)).where(c.error.is_not(None)).group_by(c.connector)
    for row in conn.execute(sa.select(sync_run).where(c.id.in_(failed))):
        m = row._mapping
        out.setdefault(m["connector"], {})["last_error"] = {
            "at": _iso(m["finished_at"] or m["started_at"]),
            "outcome": m["outcome"],
            "message": m["error"],
        }
    return out


def _utc(value: datetime) -> datetime:
    # SQLite gives back naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


class IndexStats:
    """The latest :class:`RegistryStats`, recomputed when older than ``ttl`` seconds."""

    def __init__(
        self, reader: Reader, configured: Sequence[str], *, ttl: float, with_log: bool
    ) -> None:
        self._reader = reader
        self._configured = tuple(configured)
        self._ttl = ttl
        self._with_log = with_log
        self._value: RegistryStats | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> RegistryStats:
        if self._value is not None and time.monotonic() - self._at < self._ttl:
            return self._value
        async with self._lock:
            if self._value is None or time.monotonic() - self._at >= self._ttl:
                # A full scan of a large index may take longer than a lookup may.
                self._value = await self._reader.run_within(
                    max(self._reader.timeout, 30.0),
                    read_stats,
                    self._configured,
                    with_log=self._with_log,
                )
                self._at = time.monotonic()
            return self._value
