"""The sync engine against a real HTTP source: resume, locks, withdrawal, isolation."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from metaregistry.connector import ConnectorConfig, ConnectorOptions, HttpStream, RawRecord
from metaregistry.index import store
from metaregistry.index.db import create_engine, migrate
from metaregistry.index.tables import SyncStateRow
from metaregistry.model import UnitBlock
from metaregistry.settings import ConfigError, load_settings, settings_from
from metaregistry.sync import sync_connector, sync_connectors

sys.path.insert(0, str(Path(__file__).parent))
from paged_source import PagedConnector, PagedSource, PagedStream, serve

WORKER = Path(__file__).parent / "paged_source.py"
sync_state: sa.Table = SyncStateRow.__table__  # type: ignore[attr-defined]


def counts(engine: sa.Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        blocks = conn.execute(sa.select(sa.func.count()).select_from(store.unit_block)).scalar()
        versions = conn.execute(
            sa.select(sa.func.count()).select_from(store.unit_block_version)
        ).scalar()
        leaves = conn.exec_driver_sql("SELECT count(*) FROM log_leaves").scalar()
    return int(blocks or 0), int(versions or 0), int(leaves or 0)


def committed_page(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        row = conn.execute(sa.select(sync_state.c.cursor)).scalar()
    if row is None:
        return 0
    import json

    return int(json.loads(row).get("page", 0))


def start_worker(db_url: str, url: str, owner: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(WORKER.parent))
    return subprocess.Popen(
        [sys.executable, str(WORKER), db_url, url, owner],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_page(engine: sa.Engine, page: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while committed_page(engine) < page:
        if time.monotonic() > deadline:
            raise AssertionError(f"sync did not reach page {page}")
        time.sleep(0.05)


def test_sync_stores_every_record_and_an_unchanged_resync_writes_nothing(engine: sa.Engine) -> None:
    with serve(PagedSource(n=95, page_size=10)) as source:
        source.fail_first = 2  # two 503s with Retry-After: 0, retried
        config = ConnectorConfig("paged", base_url=source.url)
        report = asyncio.run(sync_connector(engine, PagedConnector(), config))
        assert (report.outcome, report.pages, report.seen, report.written) == ("ok", 10, 95, 95)
        assert report.drift == []
        again = asyncio.run(sync_connector(engine, PagedConnector(), config))
        assert (again.outcome, again.written, again.withdrawn) == ("ok", 0, 0)
    assert counts(engine) == (95, 95, 95)
    from metaregistry.reconcile.reader import coverage

    with engine.connect() as conn:  # a completed snapshot: the registry's set is complete
        assert coverage(conn) == {"paged": True}


def test_a_snapshot_cut_short_does_not_mark_the_registry_complete(engine: sa.Engine) -> None:
    from metaregistry.reconcile.reader import coverage

    with serve(PagedSource(n=40, page_size=7)) as source:
        source.fail_first = 10_000  # every request 503: the stream never completes
        config = ConnectorConfig("paged", base_url=source.url)
        report = asyncio.run(sync_connector(engine, PagedConnector(), config))
    assert report.outcome == "failed"
    with engine.connect() as conn:
        assert coverage(conn) == {}


def test_full_repull_with_missing_records_withdraws_and_deletes_nothing(engine: sa.Engine) -> None:
    with serve(PagedSource(n=40, page_size=7)) as source:
        config = ConnectorConfig("paged", base_url=source.url)
        asyncio.run(sync_connector(engine, PagedConnector(), config))
        source.missing = {3, 17, 39}
        report = asyncio.run(sync_connector(engine, PagedConnector(), config))
    assert report.withdrawn == 3
    assert counts(engine) == (40, 43, 43)
    with engine.connect() as conn:
        gone = store.get_block(conn, "paged", "r17")
        history = store.history(conn, "paged", "r17")
    assert gone is not None and gone.status == "withdrawn"
    assert [b.status for _, b in history] == ["issued", "withdrawn"]


def test_one_hanging_source_does_not_delay_the_others(engine: sa.Engine, tmp_path: Path) -> None:
    with (
        serve(PagedSource(n=30, page_size=10)) as good,
        serve(PagedSource(n=30, page_size=10)) as bad,
    ):
        bad.hang_from_page = 2
        settings = load_settings(
            None,
            environ={
                "METAREGISTRY_CONNECTORS__GOOD__BASE_URL": good.url,
                "METAREGISTRY_CONNECTORS__BAD__BASE_URL": bad.url,
                "METAREGISTRY_CONNECTORS__BAD__TIMEOUT": "2",
                "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "key.pem"),
            },
        )

        class Good(PagedConnector):
            name = "good"

        class Bad(PagedConnector):
            name = "bad"

        started = time.monotonic()
        report = asyncio.run(
            sync_connectors(
                engine,
                settings,
                ["good", "bad"],
                connectors={"good": Good(), "bad": Bad()},
                detect=False,
            )
        )
        elapsed = time.monotonic() - started
    outcomes = {s.connector: s.outcome for s in report.sources}
    assert outcomes == {"good": "ok", "bad": "timeout"}
    assert elapsed < 30  # bounded by the bad source's 2 s timeout, not by its hour-long hang
    # the log holds good's 30 records and the page bad committed before it hung
    assert report.checkpoint is not None and "\n40\n" in report.checkpoint


@pytest.mark.postgres
def test_kill9_mid_sync_then_resume_loses_and_duplicates_nothing(pg_url: str) -> None:
    engine = create_engine(pg_url)
    migrate(engine)
    with serve(PagedSource(n=200, page_size=5, delay=0.05)) as source:
        worker = start_worker(pg_url, source.url, "first")
        wait_for_page(engine, 8)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        partial = counts(engine)
        assert 0 < partial[0] < 200
        resumed = start_worker(pg_url, source.url, "second")
        _, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
        second_pages = sorted(p for owner, p in source.fetches if owner == "second")
    assert second_pages[0] > 1  # resumed after the last committed page, not from the start
    assert counts(engine) == (200, 200, 200)
    engine.dispose()


@pytest.mark.postgres
def test_two_daemons_never_fetch_the_same_page_and_one_takes_over(pg_url: str) -> None:
    engine = create_engine(pg_url)
    migrate(engine)
    with serve(PagedSource(n=150, page_size=5, delay=0.25)) as source:
        a = start_worker(pg_url, source.url, "a")
        wait_for_page(engine, 3)
        b = start_worker(pg_url, source.url, "b")
        out_b, _ = b.communicate(timeout=60)
        assert b.returncode == 3 and out_b.startswith("locked")  # a holds the connector
        wait_for_page(engine, 10)
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        c = start_worker(pg_url, source.url, "c")
        _, err_c = c.communicate(timeout=120)
        assert c.returncode == 0, err_c
        fetched_by_a = {p for owner, p in source.fetches if owner == "a"}
        fetched_by_c = {p for owner, p in source.fetches if owner == "c"}
        assert not any(owner == "b" for owner, _ in source.fetches)
    # c refetches at most the one page a had in flight when it died
    assert len(fetched_by_a & fetched_by_c) <= 1
    assert counts(engine) == (150, 150, 150)
    engine.dispose()


def test_an_unchanged_resync_skips_the_schema_checks_of_stored_records(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync hands prepare_page the index's current hashes (as import does): a record
    whose raw bytes and content hash as stored is not validated again."""
    from metaregistry import pipeline

    checked: list[str] = []
    real = pipeline._raw_is_valid

    def counting(connector: object, record: object, *args: object) -> bool:
        checked.append("raw")
        return real(connector, record, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_raw_is_valid", counting)
    with serve(PagedSource(n=30, page_size=10)) as source:
        config = ConnectorConfig("paged", base_url=source.url)
        first = asyncio.run(sync_connector(engine, PagedConnector(), config))
        assert (first.outcome, first.written) == ("ok", 30)
        checked.clear()
        again = asyncio.run(sync_connector(engine, PagedConnector(), config))
    assert (again.outcome, again.seen, again.written) == ("ok", 30, 0)
    assert checked == []


class _StrictOptions(ConnectorOptions):
    page_size: int = 10


class _Strict(PagedConnector):
    """Declares its options: a bad value is refused by the settings or, when the settings
    could not check it (a connector given in code), by ``options()`` as FatalSourceError."""

    name = "strict"
    options_model = _StrictOptions

    def streams(self, config: ConnectorConfig) -> list[HttpStream]:
        options: _StrictOptions = self.options(config)
        assert options.page_size > 0
        return super().streams(config)


class _Buggy(PagedConnector):
    """Reads its option the old way and raises what int() raises."""

    name = "buggy"

    def streams(self, config: ConnectorConfig) -> list[HttpStream]:
        options = config.options
        assert isinstance(options, dict)
        int(options.get("page_size", 10))
        return super().streams(config)


class _Crashing(PagedConnector):
    """A bug in normalize: every record raises something no contract foresaw."""

    name = "crashing"

    def normalize(self, record: RawRecord) -> UnitBlock:
        raise ZeroDivisionError("a bug")


def test_a_bad_option_or_a_bug_fails_only_its_own_connector(engine: sa.Engine) -> None:
    """One source's exception is its failed report; the others finish (issue 21)."""
    with serve(PagedSource(n=30, page_size=10)) as source:
        tables = {
            "paged": {"base_url": source.url},
            "strict": {"base_url": source.url, "page_size": "lots"},
            "buggy": {"base_url": source.url, "page_size": "lots"},
            "crashing": {"base_url": source.url},
            "not-installed": {"base_url": source.url},
        }
        settings = settings_from({"connectors": tables})
        report = asyncio.run(
            sync_connectors(
                engine,
                settings,
                list(tables),
                connectors={
                    "paged": PagedConnector(),
                    "strict": _Strict(),
                    "buggy": _Buggy(),
                    "crashing": _Crashing(),
                },
                detect=False,
                checkpoint=False,
            )
        )
    by_name = {s.connector: s for s in report.sources}
    assert set(by_name) == set(tables)
    assert (by_name["paged"].outcome, by_name["paged"].written) == ("ok", 30)
    strict = by_name["strict"]
    assert strict.outcome == "failed" and strict.error is not None
    assert "connectors.strict.page_size" in strict.error and "'lots'" in strict.error
    buggy = by_name["buggy"]
    assert buggy.outcome == "failed"
    assert buggy.error == "ValueError: invalid literal for int() with base 10: 'lots'"
    crashing = by_name["crashing"]
    assert (crashing.outcome, crashing.error) == ("failed", "ZeroDivisionError: a bug")
    assert by_name["not-installed"].outcome == "failed"
    assert "unknown connector 'not-installed'" in (by_name["not-installed"].error or "")
    assert not report.ok


def test_the_settings_refuse_a_bad_option_of_an_installed_connector() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(
            {
                "connectors": {
                    "verra": {"base_url": "http://127.0.0.1:9"},
                    "srn-ppi": {"base_url": "http://127.0.0.1:9", "page_size": "lots"},
                }
            }
        )
    assert str(caught.value) == (
        "connectors.srn-ppi.page_size: Input should be a valid integer, unable to parse "
        "string as an integer (value: 'lots')"
    )


class _ChangesStream(PagedStream):
    """The paged source read as an incremental stream of changes."""

    mode = "incremental"
    sorted_by_cursor = True


class _UnsortedChangesStream(_ChangesStream):
    sorted_by_cursor = False


def _changes_connector(stream: type[PagedStream]) -> PagedConnector:
    class Changes(PagedConnector):
        def streams(self, config: ConnectorConfig) -> list[HttpStream]:
            return [stream(config.base_url or "", self.owner)]

    return Changes()


@pytest.mark.parametrize(
    ("stream", "cursor_after_stop"),
    [(_ChangesStream, {"page": 2}), (_UnsortedChangesStream, None)],
    ids=["sorted", "unsorted"],
)
def test_an_unsorted_incremental_stream_moves_its_cursor_only_when_complete(
    engine: sa.Engine, stream: type[PagedStream], cursor_after_stop: dict[str, int] | None
) -> None:
    """sorted_by_cursor: a sorted stream commits its cursor with every page; an unsorted
    one keeps the previous cursor until it completes (its records are stored either way)."""
    with serve(PagedSource(n=50, page_size=10)) as source:
        config = ConnectorConfig("paged", base_url=source.url)
        stop = asyncio.Event()

        def progress(name: str, pages: int, records: int) -> None:
            if pages == 2:
                stop.set()

        stopped = asyncio.run(
            sync_connector(engine, _changes_connector(stream), config, progress=progress, stop=stop)
        )
        assert (stopped.outcome, stopped.pages, stopped.written) == ("stopped", 2, 20)
        with engine.connect() as conn:
            saved = conn.execute(sa.select(sync_state.c.cursor)).scalar()
        assert (None if saved is None else json.loads(saved)) == cursor_after_stop
        done = asyncio.run(sync_connector(engine, _changes_connector(stream), config))
        # the sorted stream resumed after page 2; the unsorted one started again
        assert (done.outcome, done.pages) == ("ok", 3 if cursor_after_stop else 5)
        with engine.connect() as conn:
            saved = conn.execute(sa.select(sync_state.c.cursor)).scalar()
        assert json.loads(saved) == {"page": 5, "_complete": True, "_run": 2}  # run 2 ended it
    assert counts(engine)[0] == 50


def _running_row(engine: sa.Engine, connector: str, owner: str, beat_ago: float) -> int:
    from datetime import UTC, datetime, timedelta

    from metaregistry.index.tables import SyncRunRow

    sync_run: sa.Table = SyncRunRow.__table__  # type: ignore[attr-defined]
    beat = datetime.now(UTC) - timedelta(seconds=beat_ago)
    with engine.begin() as conn:
        return int(
            conn.execute(
                sync_run.insert().values(
                    connector=connector,
                    owner=owner,
                    started_at=beat,
                    heartbeat_at=beat,
                    outcome="running",
                    pages=0,
                    records_seen=0,
                    records_written=0,
                    quarantined=0,
                    withdrawn=0,
                )
            ).inserted_primary_key[0]
        )


def _outcome_of(engine: sa.Engine, run_id: int) -> str:
    from metaregistry.index.tables import SyncRunRow

    sync_run: sa.Table = SyncRunRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return str(
            conn.execute(sa.select(sync_run.c.outcome).where(sync_run.c.id == run_id)).scalar()
        )


def test_sqlite_a_live_lease_locks_the_connector_and_only_that_one(engine: sa.Engine) -> None:
    """SQLite's lease on the sync_run row: a run renewed within the lease holds the
    connector against another process; other connectors sync meanwhile."""
    from metaregistry.index.db import is_postgres

    if is_postgres(engine):
        pytest.skip("PostgreSQL holds an advisory lock instead of a lease")
    holder = _running_row(engine, "paged", "elsewhere:4242", beat_ago=1)

    class Other(PagedConnector):
        name = "other"

    with serve(PagedSource(n=10, page_size=10)) as source:
        config = ConnectorConfig("paged", base_url=source.url)
        locked = asyncio.run(sync_connector(engine, PagedConnector(), config, owner="here:1"))
        other = asyncio.run(
            sync_connector(engine, Other(), ConnectorConfig("other", base_url=source.url))
        )
    assert locked.outcome == "locked" and locked.pages == 0
    assert f"run {holder} of elsewhere:4242" in (locked.error or "")
    assert _outcome_of(engine, holder) == "running"  # the holder's run is left alone
    assert (other.outcome, other.written) == ("ok", 10)


def test_sqlite_a_lease_not_renewed_for_longer_than_the_lease_is_taken_over(
    engine: sa.Engine,
) -> None:
    from metaregistry.index.db import is_postgres
    from metaregistry.sync import LEASE

    if is_postgres(engine):
        pytest.skip("PostgreSQL holds an advisory lock instead of a lease")
    dead = _running_row(engine, "paged", "crashed:99", beat_ago=LEASE.total_seconds() + 60)
    with serve(PagedSource(n=10, page_size=5)) as source:
        config = ConnectorConfig("paged", base_url=source.url)
        report = asyncio.run(sync_connector(engine, PagedConnector(), config, owner="here:1"))
    assert (report.outcome, report.written) == ("ok", 10)
    assert _outcome_of(engine, dead) != "running"


def _owner_of_a_finished_process() -> str:
    """The owner string a real process of this host wrote for itself, after it exited (as a
    `metaregistry sync` killed with -9 leaves it)."""
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from metaregistry.sync import default_owner; print(default_owner())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_sqlite_a_lease_of_a_process_gone_from_this_host_is_taken_over_at_once(
    engine: sa.Engine,
) -> None:
    """A sync killed with -9 leaves its run 'running' with a fresh heartbeat: its owner is a
    process of this host that no longer exists, so the next sync takes over at once instead
    of waiting out the two-minute lease."""
    from metaregistry.index.db import is_postgres

    if is_postgres(engine):
        pytest.skip("PostgreSQL holds an advisory lock instead of a lease")
    dead = _running_row(engine, "paged", _owner_of_a_finished_process(), beat_ago=1)
    with serve(PagedSource(n=10, page_size=5)) as source:
        config = ConnectorConfig("paged", base_url=source.url)
        report = asyncio.run(sync_connector(engine, PagedConnector(), config, owner="here:1"))
    assert (report.outcome, report.written) == ("ok", 10), report.error
    assert _outcome_of(engine, dead) == "abandoned"


def test_sqlite_a_live_lease_says_how_long_the_wait_is(engine: sa.Engine) -> None:
    import os

    from metaregistry.index.db import is_postgres
    from metaregistry.sync import default_owner

    if is_postgres(engine):
        pytest.skip("PostgreSQL holds an advisory lock instead of a lease")
    # A live process of this host (this one, as another run would see it from outside).
    _running_row(engine, "paged", default_owner(), beat_ago=30)
    assert str(os.getpid()) in default_owner()
    with serve(PagedSource(n=10, page_size=5)) as source:
        config = ConnectorConfig("paged", base_url=source.url)
        report = asyncio.run(sync_connector(engine, PagedConnector(), config, owner="here:1"))
    assert report.outcome == "locked"
    assert "renewed 30 s ago" in (report.error or "")
    assert "taken over if not renewed within 90 s" in (report.error or "")


def test_owner_is_gone_tells_a_dead_or_reused_pid_from_a_live_process() -> None:
    import os
    import socket
    import subprocess
    import sys

    from metaregistry.sync import default_owner, owner_is_gone

    assert not owner_is_gone(default_owner())  # this process
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        host = socket.gethostname()
        stat = Path(f"/proc/{child.pid}/stat").read_text()
        start = stat.rpartition(")")[2].split()[19]
        assert not owner_is_gone(f"{host}:{child.pid}:{start}")  # alive, same start
        assert not owner_is_gone(f"{host}:{child.pid}")  # alive, start not recorded
        assert owner_is_gone(f"{host}:{child.pid}:{int(start) - 1}")  # the PID was reused
        assert not owner_is_gone(f"elsewhere:{child.pid}:{start}")  # another host: the lease
    finally:
        child.kill()
        child.wait()
    assert owner_is_gone(f"{socket.gethostname()}:{child.pid}")
    assert not owner_is_gone("not an owner")
    assert os.getpid() != child.pid


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sync_process_stops_at_a_page_boundary_on_a_signal(
    db_url: str, tmp_path: Path, signum: signal.Signals
) -> None:
    """``metaregistry sync`` sent SIGTERM (docker stop, systemd) or SIGINT mid-sync: it
    commits the page in flight, closes its run row as stopped, releases the connector and
    exits non-zero; the next sync resumes after the committed pages and completes."""
    from metaregistry.index.db import create_engine, migrate
    from metaregistry.index.tables import SyncRunRow, SyncStateRow

    sync_run: sa.Table = SyncRunRow.__table__  # type: ignore[attr-defined]
    sync_state: sa.Table = SyncStateRow.__table__  # type: ignore[attr-defined]
    engine = create_engine(db_url)
    migrate(engine)
    worker = Path(__file__).parent / "sync_worker.py"
    with serve(PagedSource(n=60, page_size=5, delay=0.3)) as source:
        config = tmp_path / "sync.toml"
        config.write_text(
            f'database_url = "{db_url}"\n[log]\nkey_file = "{tmp_path / "key.pem"}"\n'
            f'[connectors.paged]\nbase_url = "{source.url}"\n'
        )
        proc = subprocess.Popen(
            [sys.executable, str(worker), str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    if conn.execute(sa.select(sa.func.count()).select_from(sync_state)).scalar():
                        break
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 1, (out, err)
        assert "stopping after the pages in flight" in err
        with engine.connect() as conn:
            runs = conn.execute(sa.select(sync_run.c.outcome, sync_run.c.pages)).fetchall()
        assert [r.outcome for r in runs] == ["stopped"], runs
        assert 0 < runs[0].pages < 12, runs  # stopped midway, at a page boundary
        stored = _count_blocks(engine)
        assert stored == runs[0].pages * 5
        # The lease is released: the next sync runs at once and completes from the cursor.
        report = asyncio.run(
            sync_connector(engine, PagedConnector(), ConnectorConfig("paged", base_url=source.url))
        )
    assert report.outcome == "ok", report.error
    assert _count_blocks(engine) == 60
    engine.dispose()


def _count_blocks(engine: sa.Engine) -> int:
    from metaregistry.index import store

    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(store.unit_block)).scalar() or 0
        )


def _alert_kinds(engine: sa.Engine) -> list[str]:
    from metaregistry.detect.alerts import list_alerts

    with engine.connect() as conn:
        return sorted(a["kind"] for a in list_alerts(conn))


def test_records_of_a_sync_killed_before_its_detection_are_checked_by_the_next_writer(
    db_url: str, tmp_path: Path
) -> None:
    """Issue 20 item 0b: the dead run stored every record (the last page holds five internal
    overlaps) and died before detecting; the next sync stores nothing new, yet its detection
    starts at detection's own watermark and raises the five alerts."""
    engine = create_engine(db_url)
    migrate(engine)
    with serve(PagedSource(n=10, page_size=5, delay=0.3, overlaps=5)) as source:
        settings = load_settings(
            None,
            environ={
                "METAREGISTRY_CONNECTORS__PAGED__BASE_URL": source.url,
                "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "k.pem"),
            },
        )
        # a first, complete sync with detection: the watermark exists
        asyncio.run(
            sync_connectors(engine, settings, ["paged"], connectors={"paged": PagedConnector()})
        )
        assert _alert_kinds(engine) == ["internal_overlap"] * 5
        with engine.begin() as conn:  # forget them, as if they had never been raised
            conn.execute(sa.text("DELETE FROM alert_side"))
            conn.execute(sa.text("DELETE FROM alert"))
        source.shift = 1_000  # every record changes: new versions to check
        worker = start_worker(db_url, source.url, "dying")
        deadline = time.monotonic() + 60
        while counts(engine)[1] < 30:  # every record's second version is stored ...
            assert time.monotonic() < deadline, "the dying sync stored nothing"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)  # ... and the process dies before any detection
        worker.wait(10)
        report = asyncio.run(
            sync_connectors(engine, settings, ["paged"], connectors={"paged": PagedConnector()})
        )
    assert report.sources[0].written == 0  # the dead run stored everything already
    assert _alert_kinds(engine) == ["internal_overlap"] * 5
    engine.dispose()


class _RepeatingStream(HttpStream):
    """Two pages; the second repeats the first page's records (a source that serves a page
    twice), and the source's own total says three records."""

    name = "repeats"

    def __init__(self, base: str, total: int) -> None:
        self.base, self.total = base, total

    def first_request(self, cursor: Any) -> Any:
        from metaregistry.connector import RequestSpec

        return RequestSpec(method="GET", url=f"{self.base}/p1", token="1")

    def parse_page(self, response: Any, request: Any) -> Any:
        from metaregistry.connector import Page, RequestSpec

        records = [
            RawRecord({"id": f"r{i}", "start": i * 10, "end": i * 10 + 9}, "t", "repeats")
            for i in range(3)
        ]
        nxt = (
            RequestSpec(method="GET", url=f"{self.base}/p2", token="2")
            if request.token == "1"
            else None
        )
        return Page(records=records, cursor={}, next_request=nxt, totals={"records": self.total})


@pytest.mark.parametrize(
    ("total", "drift"), [(3, []), (4, ["repeats: source reports 4 records, sync saw 3 distinct"])]
)
def test_a_repeated_page_is_counted_once_against_the_sources_total(
    engine: sa.Engine, total: int, drift: list[str]
) -> None:
    import httpx
    import respx

    class Repeating(PagedConnector):
        def streams(self, config: ConnectorConfig) -> list[HttpStream]:
            return [_RepeatingStream(config.base_url or "", total)]

    with respx.mock:
        respx.route(host="repeats.test").mock(return_value=httpx.Response(200, json={}))
        config = ConnectorConfig("paged", base_url="https://repeats.test")
        report = asyncio.run(sync_connector(engine, Repeating(), config))
    assert (report.outcome, report.seen, report.distinct) == ("ok", 6, 3)
    assert report.drift == drift


def _stream_cursor(engine: sa.Engine, stream: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        text = conn.execute(
            sa.select(sync_state.c.cursor).where(sync_state.c.stream == stream)
        ).scalar()
    return None if text is None else dict(json.loads(text))


def test_a_run_taking_over_from_a_dead_one_does_not_fetch_its_completed_streams_again(
    engine: sa.Engine, db_url: str
) -> None:
    """Issue 20 item 7: a sync process SIGKILLed in its second stream, after the first
    completed; the next run (another owner, as a daemon taking over) fetches nothing of the
    first stream, resumes the second after its last committed page, and the index holds
    what a clean sync gives. A run after a finished one fetches every stream again."""
    with serve(PagedSource(n=20, page_size=5, delay=0.2)) as source:
        env = dict(os.environ, PYTHONPATH=str(WORKER.parent))
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), db_url, source.url, "-", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        while (_stream_cursor(engine, "again") or {}).get("page", 0) < 2:
            assert time.monotonic() < deadline, worker.stderr.read() if worker.poll() else ""
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        dead_pages = [(s, p) for _, s, p in source.stream_fetches]
        assert ("records", 4) in dead_pages  # the first stream completed
        resumed_from = int((_stream_cursor(engine, "again") or {})["page"])
        config = ConnectorConfig("paged", base_url=source.url)
        report = asyncio.run(
            sync_connector(engine, PagedConnector("taker", 2), config, owner="taker:1")
        )
        taker = [(s, p) for o, s, p in source.stream_fetches if o == "taker"]
        assert (report.outcome, report.carried) == ("ok", ["records"]), report.error
        assert [s for s, _ in taker] == ["again"] * (4 - resumed_from)
        assert [p for _, p in taker] == list(range(resumed_from + 1, 5))
        assert counts(engine)[0] == 20  # every record, once
        # a run after one that finished fetches both streams whole
        again = asyncio.run(
            sync_connector(engine, PagedConnector("next", 2), config, owner="next:1")
        )
        later = [(s, p) for o, s, p in source.stream_fetches if o == "next"]
    assert (again.outcome, again.carried) == ("ok", [])
    assert sorted(later) == [(s, p) for s in ("again", "records") for p in range(1, 5)]


@pytest.mark.parametrize("detector", ["write-path", "detect-command"])
def test_a_version_committed_after_a_newer_one_is_not_passed_over(
    engine: sa.Engine, db_url: str, tmp_path: Path, detector: str
) -> None:
    """Issue 20 item 0b, two writers on PostgreSQL: version ids come from a sequence and
    commit out of order. Writer A stores a double use and is still in flight when writer B
    commits a newer version and runs its detection; A then commits and dies before its own
    detection. The next writer's detection must still check A's record: detection's
    watermark never passes a version id below which a writer was still in flight."""
    import threading

    from metaregistry.index.db import is_postgres
    from metaregistry.ingest import max_version_id
    from metaregistry.sync import run_detection

    if not is_postgres(engine):
        pytest.skip("SQLite commits one writer at a time: its version ids commit in order")
    sys.path.insert(0, str(Path(__file__).parent))
    from test_index import make_block

    def put(conn: sa.Connection, registry: str, record: str, start: int) -> None:
        block = make_block(record, start, start + 99, registry=registry, status="retired")
        store.upsert_blocks(conn, [block], connector=registry)

    with engine.begin() as conn:
        put(conn, "gold-standard", "g-1", 0)
    run_detection(engine, 0)  # detection has a watermark
    writer_a = engine.connect()
    transaction = writer_a.begin()
    put(writer_a, "verra", "v-1", 50)  # a double use of units 50..99, not committed yet
    with engine.connect() as conn:
        since_b = max_version_id(conn)
    with engine.begin() as conn:
        put(conn, "tccr", "t-1", 5_000)  # a newer id, committed first
    done = threading.Event()

    def detect() -> None:
        if detector == "write-path":
            run_detection(engine, since_b)
        else:  # metaregistry detect, which starts at the watermark
            from click.testing import CliRunner

            from metaregistry.cli import main

            env = {
                "METAREGISTRY_DATABASE_URL": db_url,
                "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "k.pem"),
            }
            result = CliRunner().invoke(main, ["detect"], env=env, catch_exceptions=False)
            assert result.exit_code == 0, result.output
        done.set()

    thread = threading.Thread(target=detect)
    thread.start()
    time.sleep(1.0)
    transaction.commit()  # A's version is committed now ... and A dies before detecting
    writer_a.close()
    thread.join(60)
    assert done.is_set()
    with engine.connect() as conn:
        since_next = max_version_id(conn)
    run_detection(engine, since_next)  # the next writer's detection, after writing nothing
    assert _alert_kinds(engine) != []
