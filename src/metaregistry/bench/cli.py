"""``metaregistry bench``: orchestration, targets and the report."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from metaregistry.bench import load
from metaregistry.bench.machine import describe
from metaregistry.bench.records import ensure_world
from metaregistry.bench.runner import run_phase
from metaregistry.progress import Progress

__all__ = ["bench_command", "register"]

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


class _Phases:
    """The bench's progress: its phases done of those planned, with the rate and the time
    left (the one progress display, metaregistry.progress), next to the timestamped lines."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.planned = self.done = 0
        self.results: dict[str, Any] = {}

    def start(self, planned: int, results: dict[str, Any]) -> None:
        self.planned, self.results, self.done = planned, results, -1
        self.progress = Progress("bench", unit="phases", interval=0.0)
        self.progress.__enter__()
        self.tick()

    def tick(self) -> None:
        if self.progress is not None:
            done = min(self.planned, sum(k not in ("records", "machine") for k in self.results))
            if done != self.done:
                self.done = done
                self.progress.update("", done, self.planned)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None


_PHASES = _Phases()


def _say(text: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {text}", err=True)
    _PHASES.tick()


def _pg_database(admin_url: str) -> tuple[str, sa.Engine] | None:
    from metaregistry.index.db import normalize_url

    try:
        admin = sa.create_engine(
            normalize_url(admin_url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        name = f"mr_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        _say(f"PostgreSQL unavailable ({exc}); skipping its figures")
        return None
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    return url, admin


def _drop(admin: sa.Engine, url: str) -> None:
    name = sa.engine.make_url(url).database
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _sample_serials(db_url: str, count: int) -> list[str]:
    """``count`` lookups spread over the index: each block's serial as published when it reads
    back to the block's own numbering, else its units as ``scheme:scope:start-end`` (a
    converted block is numbered in its source scheme, and some serials carry no range: the
    API answers those 404 or 400, which would measure error pages, not lookups)."""
    from metaregistry.index import store
    from metaregistry.index.db import create_engine
    from metaregistry.serials import SerialError, parse_serial

    engine = create_engine(db_url)
    c = store.unit_block.c
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.max(c.id))).scalar() or 0
        step = max(1, total // count)
        rows = conn.execute(
            sa.select(c.serial, c.scheme, c.scope, c.block_start, c.block_end)
            .where(c.id % step == 0)
            .limit(count)
        ).all()
    engine.dispose()
    out: list[str] = []
    for serial, scheme, scope, start, end in rows:
        try:
            parsed = parse_serial(serial)
            same = (parsed.scheme, parsed.scope) == (scheme, scope)
            readable = same and parsed.block_start <= end and parsed.block_end >= start
        except SerialError:
            readable = False
        out.append(serial if readable else f"{scheme}:{scope}:{start}-{end}")
    return out


#: The lookup runs: (report key, server, settings beyond the defaults, worker processes).
#: ``api`` is the figure the targets are checked on: one ``metaregistry serve`` process with
#: its answer cache off, so that every request is a lookup in the index. ``api_cached`` is
#: the default configuration, whose answer cache serves repeated serials while the database
#: is unchanged; ``api_2_workers`` is what a 2-core host would run in production, beside
#: the trivial handler in two processes too.
LOOKUP_RUNS: tuple[tuple[str, str, dict[str, str], int], ...] = (
    ("trivial", "trivial", {}, 1),
    ("api", "api", {"METAREGISTRY_API__ANSWER_CACHE_MB": "0"}, 1),
    ("api_cached", "api", {}, 1),
    ("trivial_2_workers", "trivial", {}, 2),
    ("api_2_workers", "api", {"METAREGISTRY_API__ANSWER_CACHE_MB": "0"}, 2),
)
#: On PostgreSQL: the API alone, one and two processes (the trivial handler is the run's).
PG_LOOKUP_RUNS = (LOOKUP_RUNS[1], LOOKUP_RUNS[4])
LOOKUP_SERIALS = 20_000


def _lookup(
    db_url: str,
    seconds: float,
    clients: int,
    runs: tuple[tuple[str, str, dict[str, str], int], ...] = LOOKUP_RUNS,
    rounds: int = 1,
) -> dict[str, Any]:
    """Each run ``rounds`` times, the runs interleaved (trivial, api, ..., trivial, api, ...)
    so that a slow spell of the machine falls on all of them; each figure is its median
    round (throughput here varied by a quarter between back-to-back runs)."""
    checkpoint = load.ensure_checkpoint(db_url)
    serials = _sample_serials(db_url, LOOKUP_SERIALS)
    out: dict[str, Any] = {
        "clients": clients,
        "serials": len(serials),
        "checkpoint_size": checkpoint,
        "rounds": rounds,
        "note": (
            "load generator (raw HTTP/1.1 keep-alive, one connection per client, uniform "
            "random serials, each asked once before the measured seconds) shares the cores "
            "with the server; figures are each run's median of the rounds"
        ),
    }
    samples: dict[str, list[dict[str, Any]]] = {key: [] for key, *_ in runs}
    for round_ in range(rounds):
        for key, kind, env, workers in runs:
            port = load.free_port()
            server = load.start_server(kind, port, db_url, workers=workers, env=env)
            try:
                load.wait_ready(port, server)
                result = load.run_load(port, serials, clients=clients, seconds=seconds, warm=True)
            finally:
                server.stop()
            samples[key].append(result)
            _say(f"lookup {key} (round {round_ + 1} of {rounds}): {_brief(result)}")
    for key, results in samples.items():
        ranked = sorted(results, key=lambda r: float(r["requests_per_s"]))
        out[key] = {
            **ranked[(len(ranked) - 1) // 2],
            "rounds_requests_per_s": [round(r["requests_per_s"], 1) for r in results],
        }
    trivial = out["trivial"]["requests_per_s"] if "trivial" in out else 0
    if trivial:
        out["ratio_to_trivial"] = out["api"]["requests_per_s"] / trivial
        if "api_cached" in out:
            out["cached_ratio_to_trivial"] = out["api_cached"]["requests_per_s"] / trivial
    if out.get("trivial_2_workers", {}).get("requests_per_s") and "api_2_workers" in out:
        out["ratio_2_workers_to_trivial_2_workers"] = (
            out["api_2_workers"]["requests_per_s"] / out["trivial_2_workers"]["requests_per_s"]
        )
    return out


def _peer(base: Path, rows: int, sample: Path | None, rounds: int) -> dict[str, Any]:
    """Our ``import verra`` beside OffsetsDB's transform on the same export (see
    :mod:`metaregistry.bench.peer`), ``rounds`` times interleaved, medians."""
    from metaregistry.bench import peer

    found = peer.find_sample(sample)
    if found is None:
        return {
            "skipped": "the real Verra sample was not found "
            "(--peer-sample or METAREGISTRY_REAL_DATA)"
        }
    export = base / f"verra-transactions-{rows}.csv"
    out: dict[str, Any] = {"sample": str(found), "export": peer.write_export(found, rows, export)}
    samples: dict[str, list[dict[str, Any]]] = {"peer": [], "ours": []}
    for round_ in range(rounds):
        for key, phase in (("peer", "peer_transform"), ("ours", "peer_import")):
            result = run_phase(phase, {"file": str(export), "rows": rows, "workdir": str(base)})
            if "skipped" in result:
                return {**out, "skipped": result["skipped"]}
            samples[key].append(result)
            _say(f"peer {key} (round {round_ + 1} of {rounds}): {result['rows_per_s']:,.0f} rows/s")
    for key, results in samples.items():
        ranked = sorted(results, key=lambda r: float(r["rows_per_s"]))
        out[key] = {
            **ranked[(len(ranked) - 1) // 2],
            "rounds_rows_per_s": [r["rows_per_s"] for r in results],
        }
    out["ratio"] = out["ours"]["rows_per_s"] / out["peer"]["rows_per_s"]
    return out


def _brief(run: dict[str, Any]) -> str:
    return (
        f"{run['requests_per_s']:,.0f} requests/s, p50 {run['p50_ms']:.1f} ms, "
        f"p99 {run['p99_ms']:.1f} ms, errors {run['errors']}, statuses {run['statuses']}"
    )


TARGETS = {
    "ingest_records_per_s": (">=", 50_000),
    "ingest_ratio_to_floor": (">=", 0.25),
    "postgresql_ingest_records_per_s": (">=", 40_000),
    "ingest_peak_rss_mib": ("<=", 500),
    "ingest_rss_ratio_1m_to_100k": ("<=", 1.3),
    "resync_unchanged_rows_written": ("<=", 0),
    "resync_unchanged_ratio_to_load": ("<=", 0.5),
    "resync_changed_ratio_to_load": ("<=", 0.02),
    "detect_full_seconds": ("<=", 3.0),
    "detect_incremental_seconds": ("<=", 0.5),
    "lookup_requests_per_s": (">=", 1500),
    "lookup_p99_ms": ("<=", 25),
    "lookup_ratio_to_trivial": (">=", 0.2),
    "log_append_seconds": ("<=", 15),
    "log_proof_ms": ("<=", 1.0),
    "peer_ratio": (">=", 0.5),
}


def _figures(r: dict[str, Any]) -> dict[str, Any]:
    f: dict[str, Any] = {}
    ing = r.get("ingest_sqlite", {})
    if ing:
        f["ingest_records_per_s"] = ing["records_per_s"]
        f["ingest_peak_rss_mib"] = ing["peak_rss_mib"]
        if r.get("floor"):
            f["ingest_ratio_to_floor"] = ing["records_per_s"] / r["floor"]["records_per_s"]
        if r.get("ingest_sqlite_tenth"):
            f["ingest_rss_ratio_1m_to_100k"] = (
                ing["peak_rss_mib"] / r["ingest_sqlite_tenth"]["peak_rss_mib"]
            )
    if r.get("ingest_postgresql"):
        f["postgresql_ingest_records_per_s"] = r["ingest_postgresql"]["records_per_s"]
    if r.get("resync_unchanged") and ing:
        f["resync_unchanged_rows_written"] = r["resync_unchanged"]["rows_written"]
        f["resync_unchanged_ratio_to_load"] = r["resync_unchanged"]["seconds"] / ing["seconds"]
    if r.get("resync_changed") and ing:
        f["resync_changed_ratio_to_load"] = r["resync_changed"]["seconds"] / ing["seconds"]
    if r.get("detect_full"):
        f["detect_full_seconds"] = r["detect_full"]["seconds"]
    if r.get("detect_incremental"):
        f["detect_incremental_seconds"] = r["detect_incremental"]["seconds"]
    lk = r.get("lookup", {})
    if lk.get("api"):
        f["lookup_requests_per_s"] = lk["api"]["requests_per_s"]
        f["lookup_p99_ms"] = lk["api"]["p99_ms"]
        f["lookup_ratio_to_trivial"] = lk.get("ratio_to_trivial")
    for key in ("api_cached", "trivial_2_workers", "api_2_workers"):
        if lk.get(key):
            f[f"lookup_{key}_requests_per_s"] = lk[key]["requests_per_s"]
            f[f"lookup_{key}_p99_ms"] = lk[key]["p99_ms"]
    if lk.get("cached_ratio_to_trivial") is not None:
        f["lookup_api_cached_ratio_to_trivial"] = lk["cached_ratio_to_trivial"]
    if lk.get("ratio_2_workers_to_trivial_2_workers") is not None:
        f["lookup_2_workers_ratio_to_trivial_2_workers"] = lk[
            "ratio_2_workers_to_trivial_2_workers"
        ]
    for key, run in r.get("lookup_postgresql", {}).items():
        if isinstance(run, dict) and "requests_per_s" in run:
            f[f"postgresql_lookup_{key}_requests_per_s"] = run["requests_per_s"]
            f[f"postgresql_lookup_{key}_p99_ms"] = run["p99_ms"]
    peer = r.get("peer", {})
    if peer.get("ratio") is not None:
        f["peer_import_rows_per_s"] = peer["ours"]["rows_per_s"]
        f["peer_offsetsdb_rows_per_s"] = peer["peer"]["rows_per_s"]
        f["peer_ratio"] = peer["ratio"]
    if r.get("log"):
        f["log_append_seconds"] = r["log"]["append_seconds"]
        f["log_proof_ms"] = r["log"]["proof_ms"]
    return f


def detect_full_goal(n: int) -> float:
    """Seconds a full detection of ``n`` blocks may take: the benchmark issue's 3 s at 1M and
    40 s at 10M, linear between them, and 4 s per million beyond."""
    millions = n / 1_000_000
    if millions <= 1:
        return 3.0 * millions
    if millions <= 10:
        return 3.0 + (millions - 1) * (40.0 - 3.0) / 9
    return 4.0 * millions


def _verdicts(figures: dict[str, Any], n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    scale = n / 1_000_000
    for key, (op, target) in TARGETS.items():
        if key not in figures or figures[key] is None:
            continue
        if key == "detect_full_seconds":
            goal = detect_full_goal(n)
        elif key == "log_append_seconds":
            goal = target * scale
        else:
            goal = target
        value = figures[key]
        ok = value >= goal if op == ">=" else value <= goal
        out[key] = {"value": round(value, 4), "target": f"{op} {goal:g}", "met": ok}
    return out


@click.command("bench")
@click.option("--records", "n", default=1_000_000, show_default=True, help="Records (N).")
@click.option("--quick", is_flag=True, help="Small N (5,000), short load: a smoke run.")
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the JSON report here (also printed).",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep worlds and databases here (default: a temporary directory).",
)
@click.option(
    "--pg-url",
    default=DEFAULT_PG,
    show_default=True,
    help="PostgreSQL admin URL; a database of its own is created and dropped.",
)
@click.option("--no-pg", is_flag=True, help="Skip the PostgreSQL figures.")
@click.option("--lookup-seconds", default=10.0, show_default=True)
@click.option(
    "--skip", multiple=True, help="Phases to skip (ingest_postgresql, lookup, log, peer, ...)."
)
@click.option(
    "--peer-rows",
    default=100_000,
    show_default=True,
    help="Rows of the Verra export the peer phase imports and transforms.",
)
@click.option(
    "--peer-sample",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The real Verra transactions sample to repeat (default: ../shared/data/real).",
)
def bench_command(
    n: int,
    quick: bool,
    seed: int,
    out: Path | None,
    workdir: Path | None,
    pg_url: str,
    no_pg: bool,
    lookup_seconds: float,
    skip: tuple[str, ...],
    peer_rows: int,
    peer_sample: Path | None,
) -> None:
    """Measure ingest, resync, detection, lookup and the log at N records, each beside a
    baseline measured in the same run. Prints JSON; with N >= 1,000,000, checks the targets."""
    if quick:
        n, lookup_seconds, peer_rows = 5_000, 2.0, min(peer_rows, 2_000)
    temp = workdir is None
    base = Path(tempfile.mkdtemp(prefix="mr-bench-")) if workdir is None else workdir
    base.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"records": n, "machine": describe(None if no_pg else pg_url)}
    try:
        _say(f"generating a world of {n:,} records")
        world = str(ensure_world(base / f"world-{n}-{seed}", n, seed))
        db = base / f"bench-{n}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        db_url = f"sqlite:///{db}"
        steps: list[tuple[str, str, dict[str, Any]]] = [
            ("ingest_sqlite", "ingest", {"db_url": db_url, "world": world}),
            (
                "floor",
                "floor",
                {"sqlite_path": str(base / f"floor-{uuid.uuid4().hex[:6]}.db"), "world": world},
            ),
            ("resync_unchanged", "resync_unchanged", {"db_url": db_url, "world": world}),
            ("resync_changed", "resync_changed", {"db_url": db_url}),
            ("detect_full", "detect_full", {"db_url": db_url}),
        ]
        optional = ("lookup", "detect_incremental", "log", "peer")
        _PHASES.start(
            sum(key not in skip for key, _, _ in steps)
            + sum(key not in skip for key in optional)
            + int(n >= 10_000 and "ingest_sqlite_tenth" not in skip)
            + int(not no_pg and "ingest_postgresql" not in skip),
            results,
        )
        for key, phase, params in steps:
            if key in skip:
                continue
            _say(f"{key} ...")
            results[key] = run_phase(phase, params)
            shown = {k: v for k, v in results[key].items() if k != "summary"}
            _say(f"{key}: {json.dumps(shown, default=str)}")
        if "lookup" not in skip:
            _say("lookup over HTTP ...")
            results["lookup"] = _lookup(db_url, lookup_seconds, 32, rounds=1 if quick else 3)
        if "detect_incremental" not in skip:
            _say("detect_incremental ...")
            results["detect_incremental"] = run_phase(
                "detect_incremental", {"db_url": db_url, "changed": min(10_000, max(10, n // 100))}
            )
        if "log" not in skip:
            _say("log ...")
            log_db = f"sqlite:///{base / f'log-{uuid.uuid4().hex[:6]}.db'}"
            proofs = 1_000 if quick else 10_000
            results["log"] = run_phase("log", {"db_url": log_db, "records": n, "proofs": proofs})
        if "peer" not in skip:
            _say(f"peer: import verra beside OffsetsDB's transform, {peer_rows:,} rows ...")
            results["peer"] = _peer(base, peer_rows, peer_sample, 1 if quick else 3)
        if "ingest_sqlite_tenth" not in skip and n >= 10_000:
            tenth = n // 10
            _say(f"ingest at {tenth:,} for the memory ratio ...")
            small_world = str(ensure_world(base / f"world-{tenth}-{seed}", tenth, seed))
            small_db = f"sqlite:///{base / f'tenth-{uuid.uuid4().hex[:6]}.db'}"
            results["ingest_sqlite_tenth"] = run_phase(
                "ingest", {"db_url": small_db, "world": small_world}
            )
        if not no_pg and "ingest_postgresql" not in skip:
            made = _pg_database(pg_url)
            if made is not None:
                url, admin = made
                try:
                    _say("ingest into PostgreSQL ...")
                    results["ingest_postgresql"] = run_phase(
                        "ingest", {"db_url": url, "world": world}
                    )
                    if "lookup_postgresql" not in skip and "lookup" not in skip:
                        # The production database: detection's links and alerts as after
                        # any sync, then the same lookups (PostgreSQL has no answer cache).
                        _say("lookup over HTTP on PostgreSQL ...")
                        run_phase("detect_full", {"db_url": url})
                        results["lookup_postgresql"] = _lookup(
                            url, lookup_seconds, 32, runs=PG_LOOKUP_RUNS
                        )
                finally:
                    _drop(admin, url)
    finally:
        _PHASES.close()
        if temp:
            shutil.rmtree(base, ignore_errors=True)
    figures = _figures(results)
    report = {
        "figures": {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()},
        "targets": _verdicts(figures, n) if n >= 1_000_000 else "checked only at N >= 1,000,000",
        **results,
    }
    text = json.dumps(report, indent=2, default=str)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    click.echo(text)


def register(group: click.Group) -> None:
    group.add_command(bench_command)
