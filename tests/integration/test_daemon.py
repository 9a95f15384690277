"""The daemon: schedules, and SIGTERM finishing the page in flight before exiting 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from metaregistry.daemon import parse_schedule
from metaregistry.index import store
from metaregistry.index.db import create_engine, migrate
from metaregistry.index.tables import SyncRunRow, SyncStateRow
from metaregistry.settings import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
import itertools

from paged_source import PagedSource, serve

WORKER = Path(__file__).parent / "daemon_worker.py"
sync_state: sa.Table = SyncStateRow.__table__  # type: ignore[attr-defined]
sync_run: sa.Table = SyncRunRow.__table__  # type: ignore[attr-defined]


def test_schedules() -> None:
    assert isinstance(parse_schedule("interval:30m"), IntervalTrigger)
    assert parse_schedule("interval:6h").interval.total_seconds() == 6 * 3600  # type: ignore[attr-defined]
    assert isinstance(parse_schedule("cron:0 */6 * * *"), CronTrigger)
    assert isinstance(parse_schedule(None), IntervalTrigger)
    for bad in ("every day", "interval:5x", "cron:61 * * * *"):
        with pytest.raises(ConfigError, match="schedule"):
            parse_schedule(bad)


def test_sigterm_commits_the_page_in_flight_and_exits_zero(db_url: str, tmp_path: Path) -> None:
    engine = create_engine(db_url)
    migrate(engine)
    with serve(PagedSource(n=400, page_size=5, delay=0.2)) as source:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), db_url, source.url, str(tmp_path / "key.pem")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(WORKER.parent)),
        )
        deadline = time.monotonic() + 60
        while _page(engine) < 4:
            assert time.monotonic() < deadline, (
                proc.stderr.read() if proc.poll() is not None else ""
            )
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        fetched = len(source.fetches)
    assert proc.returncode == 0, err
    assert "report paged stopped" in out
    page = _page(engine)
    with engine.connect() as conn:
        blocks = conn.execute(sa.select(sa.func.count()).select_from(store.unit_block)).scalar()
    # every page fetched was committed: nothing in flight was lost, and the sync stopped early
    assert blocks == page * 5
    assert page == fetched
    assert page < 80
    engine.dispose()


def _page(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        cursor = conn.execute(sa.select(sync_state.c.cursor)).scalar()
    return 0 if cursor is None else int(json.loads(cursor).get("page", 0))


def start_daemon(db_url: str, url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """A daemon process (``daemon_worker.py``); returns once it printed ``daemon ready``."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), db_url, url, str(tmp_path / "key.pem"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(WORKER.parent)),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "daemon ready", proc.stderr.read() if proc.stderr else line
    return proc


def stop_daemon(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


def sync_runs(engine: sa.Engine) -> list[tuple[datetime, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(sync_run.c.started_at, sync_run.c.outcome).order_by(sync_run.c.id)
        ).fetchall()
    return [(r[0] if r[0].tzinfo else r[0].replace(tzinfo=UTC), r[1]) for r in rows]


@pytest.mark.parametrize("initial_run", [True, False], ids=["initial-run", "no-initial-run"])
def test_a_daemon_process_syncs_on_its_schedule(
    db_url: str, tmp_path: Path, initial_run: bool
) -> None:
    """A real daemon with ``interval:3s``: it syncs at once (or, with --no-initial-run, at
    the first tick) and then on every tick. Before the fix, --no-initial-run added its jobs
    paused: no sync ever ran."""
    interval = 3.0
    engine = create_engine(db_url)
    migrate(engine)
    args = ["--schedule", "interval:3s", *([] if initial_run else ["--no-initial-run"])]
    with serve(PagedSource(n=20, page_size=10)) as source:
        proc = start_daemon(db_url, source.url, tmp_path, *args)
        ready = datetime.now(UTC)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if [outcome for _, outcome in sync_runs(engine)][:3] == ["ok"] * 3:
                    break
                time.sleep(0.1)
        finally:
            out = stop_daemon(proc)
    runs = sync_runs(engine)
    engine.dispose()
    assert len(runs) >= 3, (runs, out)
    first = (runs[0][0] - ready).total_seconds()
    if initial_run:
        assert first < interval, first  # not waiting for the first tick
    else:
        assert first >= interval - 0.5, first  # the first tick, not at once
    gaps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(runs)]
    assert all(gap >= interval - 0.5 for gap in gaps), gaps  # on the schedule, not in a loop
    assert [outcome for _, outcome in runs[:3]] == ["ok", "ok", "ok"]
    assert out.count("report paged ok") >= 3


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_daemon_process_delivers_alert_webhooks(db_url: str, tmp_path: Path) -> None:
    """The webhook job runs in a real daemon: the alerts its first sync raised (two internal
    overlaps) reach the configured receiver."""
    engine = create_engine(db_url)
    migrate(engine)
    _Receiver.bodies = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    try:
        with serve(PagedSource(n=10, page_size=5, overlaps=2)) as source:
            proc = start_daemon(db_url, source.url, tmp_path, "--webhook", hook)
            try:
                deadline = time.monotonic() + 60
                while len(_Receiver.bodies) < 2 and time.monotonic() < deadline:
                    time.sleep(0.1)
            finally:
                stop_daemon(proc)
    finally:
        receiver.shutdown()
        receiver.server_close()
        engine.dispose()
    kinds = sorted(body["data"]["alert"]["kind"] for body in _Receiver.bodies)
    assert kinds == ["internal_overlap", "internal_overlap"], _Receiver.bodies


def test_webhook_delivery_is_scheduled_when_webhooks_are_configured(
    engine: sa.Engine, tmp_path: Path
) -> None:
    import asyncio

    from metaregistry.daemon import Daemon
    from metaregistry.settings import load_settings

    config = tmp_path / "metaregistry.toml"
    config.write_text(
        '[connectors.paged]\nbase_url = "http://127.0.0.1:9"\nschedule = "cron:0 3 * * *"\n'
        '[[webhooks]]\nurl = "http://127.0.0.1:9/hook"\nsecret = "s"\n'
    )
    settings = load_settings(config, environ={})

    async def jobs() -> list[str]:
        daemon = Daemon(engine=engine, settings=settings, names=["paged"])
        scheduler = daemon.scheduler(run_now=False)
        found = sorted(job.id for job in scheduler.get_jobs())
        for close in daemon.closers:
            await close()
        return found

    assert asyncio.run(jobs()) == ["sync:paged", "webhooks"]


def test_a_broken_connector_is_a_failed_report_and_the_others_sync(engine: sa.Engine) -> None:
    """A connector raising in the daemon's job is its own failed report (not an exception
    lost in the scheduler); the healthy connector's job syncs."""
    import asyncio

    from paged_source import PagedConnector

    from metaregistry.connector import ConnectorConfig, HttpStream
    from metaregistry.daemon import Daemon
    from metaregistry.settings import settings_from

    class Buggy(PagedConnector):
        name = "buggy"

        def streams(self, config: ConnectorConfig) -> list[HttpStream]:
            raise KeyError("page_size")

    with serve(PagedSource(n=20, page_size=10)) as source:
        settings = settings_from(
            {"connectors": {"paged": {"base_url": source.url}, "buggy": {"base_url": source.url}}}
        )

        async def run() -> list[tuple[str, str, str | None]]:
            daemon = Daemon(
                engine=engine,
                settings=settings,
                names=["buggy", "paged", "missing"],
                connectors={"paged": PagedConnector(), "buggy": Buggy()},
            )
            reports = [await daemon.sync_one(n) for n in ("buggy", "paged", "missing")]
            return [(r.connector, r.outcome, r.error) for r in reports]

        reports = asyncio.run(run())
    assert reports[0] == ("buggy", "failed", "KeyError: 'page_size'")
    assert reports[1] == ("paged", "ok", None)
    assert reports[2][:2] == ("missing", "failed") and "unknown connector" in str(reports[2][2])


def test_the_daemon_refuses_a_bad_option_before_it_starts(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from metaregistry.cli import main

    config = tmp_path / "metaregistry.toml"
    db = tmp_path / "index.db"
    config.write_text(
        f'database_url = "sqlite:///{db}"\n'
        '[connectors.verra]\nbase_url = "http://127.0.0.1:9"\n'
        '[connectors.tccr]\nbase_url = "http://127.0.0.1:9"\nsource = "ftp"\n'
    )
    result = CliRunner().invoke(main, ["--config", str(config), "daemon", "--no-api"])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == (
        f"Error: {config}: connectors.tccr.source: Input should be 'export' or 'api' (value: 'ftp')"
    )
    assert not db.exists()


def _alerts(engine: sa.Engine) -> list[str]:
    from metaregistry.detect.alerts import list_alerts

    with engine.connect() as conn:
        return sorted(a["kind"] for a in list_alerts(conn))


def test_a_daemon_checks_what_a_daemon_killed_before_its_detection_stored(
    db_url: str, tmp_path: Path
) -> None:
    """Issue 20 item 0b, a daemon killed between store and detect: its first stream stored
    every record's new version (five internal overlaps among them), its second hangs, and
    the process is SIGKILLed there, so it certainly never detected. The next daemon writes
    nothing new (the first stream is carried over, the second holds the same records), yet
    it raises the five alerts: detection is behind its watermark, so it runs."""
    import asyncio

    from paged_source import PagedConnector

    from metaregistry.settings import load_settings
    from metaregistry.sync import sync_connectors

    engine = create_engine(db_url)
    migrate(engine)
    key = tmp_path / "key.pem"
    with serve(PagedSource(n=10, page_size=5, overlaps=5)) as source:
        settings = load_settings(
            None,
            environ={
                "METAREGISTRY_CONNECTORS__PAGED__BASE_URL": source.url,
                "METAREGISTRY_LOG__KEY_FILE": str(key),
            },
        )
        asyncio.run(
            sync_connectors(engine, settings, ["paged"], connectors={"paged": PagedConnector()})
        )
        assert _alerts(engine) == ["internal_overlap"] * 5  # and detection has a watermark
        with engine.begin() as conn:  # forget them, as if they had never been raised
            conn.execute(sa.text("DELETE FROM alert_side"))
            conn.execute(sa.text("DELETE FROM alert"))
        source.shift = 1_000  # every record changes
        source.hang_stream, source.hang_from_page = "again", 1
        dying = start_daemon(db_url, source.url, tmp_path, "--streams", "2")
        deadline = time.monotonic() + 60
        while not any(s == "again" for _, s, _ in source.stream_fetches):
            assert time.monotonic() < deadline, "the daemon never reached its second stream"
            time.sleep(0.05)
        dying.send_signal(signal.SIGKILL)  # in the second stream: no detection ran
        dying.communicate(timeout=30)
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT COUNT(*) FROM unit_block_version")).scalar()
        assert versions == 30 and _alerts(engine) == []
        source.hang_from_page = None
        taker = start_daemon(db_url, source.url, tmp_path, "--streams", "2")
        deadline = time.monotonic() + 60
        while not [o for _, o in sync_runs(engine) if o == "ok"][1:]:
            assert time.monotonic() < deadline, "the second daemon never finished a sync"
            time.sleep(0.1)
        deadline = time.monotonic() + 30  # its detection follows the sync
        while not _alerts(engine) and time.monotonic() < deadline:
            time.sleep(0.2)
        out = stop_daemon(taker)
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT COUNT(*) FROM unit_block_version")).scalar()
    assert "report paged ok" in out
    assert versions == 30  # nothing new was written
    assert _alerts(engine) == ["internal_overlap"] * 5
    engine.dispose()
