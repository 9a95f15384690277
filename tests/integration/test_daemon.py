"""The daemon: schedules, and SIGTERM finishing the page in flight before exiting 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from metaregistry.daemon import parse_schedule
from metaregistry.index import store
from metaregistry.index.db import create_engine, migrate
from metaregistry.index.tables import SyncStateRow
from metaregistry.settings import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
from paged_source import PagedSource, serve

WORKER = Path(__file__).parent / "daemon_worker.py"
sync_state: sa.Table = SyncStateRow.__table__  # type: ignore[attr-defined]


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
