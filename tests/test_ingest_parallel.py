"""``ingest_records`` with preparing processes (``jobs`` > 1) against the in-process path, on
the run's backend: the same rows in every table, in the same order, for a generated world
with malformed records, its unchanged resync and a resync with changes; a record that fails
preparation quarantined with its reason; a worker that crashes or raises stopping the import
with only whole pages stored; Ctrl-C (KeyboardInterrupt) leaving no worker behind; and
``metaregistry import --jobs``."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry import ingest, plugins
from metaregistry.bench.records import world_files, world_records
from metaregistry.cli import main
from metaregistry.connector import FatalSourceError, RawRecord
from metaregistry.index import store
from metaregistry.index.db import create_engine, migrate
from metaregistry.ingest import IngestReport, PageResult, ingest_records
from metaregistry.log import store as log_store
from metaregistry.mock.world import generate_world
from metaregistry.pipeline import prepare_page
from metaregistry.preparers import Preparers, PreparingError, reader_url

#: Columns set from the wall clock by the store, not by the pipeline: left out of comparisons.
CLOCK_COLUMNS = frozenset(
    {"created_at", "updated_at", "resolved_at", "started_at", "heartbeat_at", "finished_at"}
)


@pytest.fixture
def other_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second fresh database of the run's backend."""
    if os.environ.get("METAREGISTRY_TEST_DB", "sqlite") != "postgresql":
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    admin: sa.Engine = request.getfixturevalue("pg_admin_engine")
    name = f"mr_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stamps:
    """Each page's ``observed_at`` from a counter instead of the clock (both paths stamp
    pages in reading order), so that two runs, each from :meth:`restart`, compare byte for
    byte."""

    def __init__(self) -> None:
        self.count = 0

    def restart(self) -> None:
        self.count = 0

    def __call__(self, moment: object = None) -> str:
        self.count += 1
        return f"2026-01-01T00:{self.count // 1_000_000:02d}:00.{self.count % 1_000_000:06d}Z"


@pytest.fixture
def stamps(monkeypatch: pytest.MonkeyPatch) -> Stamps:
    clock = Stamps()
    monkeypatch.setattr(ingest, "utc_stamp", clock)
    return clock


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(11, 2500, out, malformed=25)
    return out


def _engine(url: str) -> sa.Engine:
    engine = create_engine(url)
    migrate(engine)
    return engine


def _ingest_world(
    engine: sa.Engine, world: Path, jobs: int, edit: dict[str, str] | None = None
) -> IngestReport:
    """Every record of ``world`` in pages of 50 (``edit``: status_reason per record ref)."""
    total = IngestReport()
    files = world_files(world)
    preparers = Preparers(jobs, reader_url(engine)) if jobs > 1 else None
    if preparers is not None:
        preparers.start()
    try:
        for connector, group in groupby(world_records(world, files), key=lambda p: p[0]):
            records = (_edited(r, edit) for _, r in group)
            report = ingest_records(engine, connector, records, page_size=50, preparers=preparers)
            for name in ("pages", "seen", "written", "unchanged", "quarantined"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
    finally:
        if preparers is not None:
            preparers.close()
    return total


def _edited(record: RawRecord, edit: dict[str, str] | None) -> RawRecord:
    if not edit or record.ref not in edit:
        return record
    payload = dict(record.payload)
    for key in ("status_reason", "retirementReason", "retirement_reason", "note"):
        if key in payload:
            payload[key] = f"{payload[key]} {edit[record.ref]}"
            break
    else:
        payload["status_reason"] = edit[record.ref]
    return RawRecord(payload, record.ref, record.stream)


def _dump(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, clock columns left out."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            columns = [c for c in table.columns if c.name not in CLOCK_COLUMNS]
            order = list(table.primary_key.columns) or columns
            rows = conn.execute(sa.select(*columns).order_by(*order)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_processes_store_the_same_rows_in_the_same_order_as_one_process(
    world: Path, db_url: str, other_db_url: str, stamps: Stamps
) -> None:
    one, many = _engine(db_url), _engine(other_db_url)
    try:
        refs = [r.ref for _, r in world_records(world)]
        edit = {ref: "(amended)" for ref in refs[::97]}
        reports: dict[int, list[IngestReport]] = {}
        for jobs, engine in ((1, one), (2, many)):
            stamps.restart()
            reports[jobs] = [
                _ingest_world(engine, world, jobs),
                _ingest_world(engine, world, jobs),  # unchanged: writes nothing
                _ingest_world(engine, world, jobs, edit),
            ]
        first, unchanged, changed = reports[2]
        assert first.written > 2000 and first.quarantined >= 25
        assert (unchanged.written, unchanged.unchanged) == (0, first.written)
        assert 0 < changed.written <= len(edit)
        for a, b in zip(reports[1], reports[2], strict=True):
            assert (a.pages, a.seen, a.written, a.unchanged, a.quarantined) == (
                b.pages,
                b.seen,
                b.written,
                b.unchanged,
                b.quarantined,
            )
        expected, got = _dump(one), _dump(many)
        assert len(got["unit_block_version"]) == first.written + changed.written
        assert len(got["log_leaves"]) == len(got["unit_block_version"])
        assert got["quarantine"]
        assert expected == got
    finally:
        one.dispose()
        many.dispose()


def test_a_record_failing_preparation_is_quarantined_with_its_reason(engine: sa.Engine) -> None:
    generic = plugins.load("generic")
    records = [RawRecord(row, f"f.ndjson:{i + 1}") for i, row in enumerate(_generic_rows(7))]
    records[3].payload["quantity"] = 11
    records[5] = RawRecord({"record_id": "t5"}, "f.ndjson:6")
    seen: list[PageResult] = []
    report = ingest_records(engine, generic, records, page_size=3, jobs=2, on_page=seen.append)
    assert (report.seen, report.written, report.quarantined) == (7, 5, 2)
    quarantined = {q.ref: q for page in seen for q in page.quarantined}
    assert sorted(quarantined) == ["f.ndjson:4", "f.ndjson:6"]
    assert quarantined["f.ndjson:4"].error.startswith("quantity: 11 does not match the range")
    in_process = prepare_page(generic, records, "2026-01-01T00:00:00.000000Z").quarantined
    assert [(q.ref, q.stage, q.error, q.payload, q.raw_hash) for q in in_process] == [
        (q.ref, q.stage, q.error, q.payload, q.raw_hash) for q in quarantined.values()
    ]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(store.quarantine_table)).mappings().all()
    assert {r["ref"]: r["error"] for r in rows} == {ref: q.error for ref, q in quarantined.items()}


CONNECTOR_MODULE = '''
import os
from metaregistry.connector import Connector, RawRecord, RecordError
from metaregistry.model import UnitBlock


class Faulty(Connector):
    """Counts from a payload; ``crash`` kills the process, ``explode`` raises a bug."""

    name = "test-faulty"
    registries = ("test-faulty",)

    def normalize(self, record: RawRecord) -> UnitBlock:
        p = record.payload
        if p.get("crash"):
            os._exit(3)
        if p.get("explode"):
            raise RuntimeError("connector bug: cannot handle " + str(p["id"]))
        start = int(p["start"])
        return UnitBlock(registry="test-faulty", record_id=str(p["id"]), serial=f"F-{start}",
                         scheme="test-faulty", scope="", block_start=start,
                         block_end=start + 9, quantity=10, status="issued")


connector = Faulty()
'''


@pytest.fixture
def faulty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A connector installed under an entry point (the workers load it by name) that crashes
    or raises on the records that ask it to."""
    site = tmp_path / "site"
    (site / "mr_test_faulty-1.0.dist-info").mkdir(parents=True)
    (site / "mr_test_faulty.py").write_text(textwrap.dedent(CONNECTOR_MODULE))
    info = site / "mr_test_faulty-1.0.dist-info"
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mr-test-faulty\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[metaregistry.connectors]\ntest-faulty = mr_test_faulty:connector\n"
    )
    monkeypatch.syspath_prepend(str(site))
    plugins.load.cache_clear()
    yield plugins.load("test-faulty")
    plugins.load.cache_clear()
    sys.modules.pop("mr_test_faulty", None)


def _faulty_records(n: int, **marks: int) -> list[RawRecord]:
    """Records 0..n-1; ``marks`` maps a flag (crash, explode) to the record that carries it."""
    out = []
    for i in range(n):
        payload: dict[str, Any] = {"id": f"r{i}", "start": i * 100}
        payload.update({flag: True for flag, at in marks.items() if at == i})
        out.append(RawRecord(payload, f"faulty:{i + 1}"))
    return out


def _no_workers_left() -> bool:
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


def test_a_block_found_unchanged_that_changed_before_its_page_was_stored_is_written(
    db_url: str,
    other_db_url: str,
    stamps: Stamps,
    faulty: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Record r5 changes in page 2 and changes back in page 3. A worker prepares page 3
    while page 2 is not stored yet, so it finds r5 unchanged; storing page 3 must still
    write r5's third version, as the in-process path does."""
    again = _faulty_records(6)
    again.insert(3, RawRecord({"id": "r5", "start": 12345}, "faulty:changed"))
    # pages of three: [r0 r1 r2] [r5 changed, r3, r4] [r5 as stored]
    prepared_here: list[int] = []

    def counting(*args: Any) -> Any:
        prepared_here.append(1)
        return prepare_page(*args)

    def slow(result: PageResult) -> None:
        time.sleep(0.5)  # page 3 is prepared long before page 2 is stored

    dumps = []
    for jobs, url in ((1, db_url), (2, other_db_url)):
        stamps.restart()
        engine = _engine(url)
        try:
            ingest_records(engine, faulty, _faulty_records(6), page_size=3, jobs=jobs)
            if jobs == 2:
                monkeypatch.setattr("metaregistry.ingest.prepare_page", counting)
            report = ingest_records(engine, faulty, again, page_size=3, jobs=jobs, on_page=slow)
            assert (report.written, report.unchanged) == (2, 5)
            with engine.connect() as conn:
                history = store.history(conn, "test-faulty", "r5")
            assert [(v, b.block_start) for v, b in history] == [(1, 500), (2, 12345), (3, 500)]
            dumps.append(_dump(engine))
        finally:
            engine.dispose()
    assert prepared_here == [1]  # r5, prepared again by the storing process
    assert dumps[0] == dumps[1]


def test_a_crashed_worker_stops_the_import_with_only_whole_pages_stored(
    engine: sa.Engine, faulty: Any
) -> None:
    records = _faulty_records(60, crash=34)  # in the fourth page of 10
    with pytest.raises(PreparingError, match=r"process 1 \(pid \d+\) exited with code 3") as caught:
        ingest_records(engine, faulty, records, page_size=10, jobs=2)
    # The page waited for when the crash showed: the crashed one, or one the worker had
    # prepared but not handed over yet. Only the pages before it are stored, whole.
    first = int(str(caught.value).split("records faulty:")[1].split()[0])
    assert first in (11, 31)
    assert _count(engine, store.unit_block) == first - 1
    with engine.connect() as conn:
        assert log_store.tree_size(conn) == first - 1
    assert _no_workers_left()


def test_an_error_raised_in_a_worker_is_raised_after_the_pages_before_it(
    engine: sa.Engine, faulty: Any
) -> None:
    records = _faulty_records(50, explode=27)
    with pytest.raises(RuntimeError, match="connector bug: cannot handle r27") as caught:
        ingest_records(engine, faulty, records, page_size=10, jobs=2)
    assert any("preparing process" in note for note in caught.value.__notes__)
    assert _count(engine, store.unit_block) == 20
    assert _no_workers_left()


def test_a_reader_error_is_raised_after_the_pages_before_it_are_stored(
    engine: sa.Engine, faulty: Any
) -> None:
    def broken() -> Iterator[RawRecord]:
        yield from _faulty_records(27)
        raise FatalSourceError("export.csv: cut off at line 28")

    with pytest.raises(FatalSourceError, match="cut off"):
        ingest_records(engine, faulty, broken(), page_size=10, jobs=2)
    assert _count(engine, store.unit_block) == 20  # the third page never completed
    assert _no_workers_left()


def test_an_interrupt_while_storing_leaves_whole_pages_and_no_worker(
    engine: sa.Engine, faulty: Any
) -> None:
    stored: list[PageResult] = []

    def interrupt(result: PageResult) -> None:
        stored.append(result)
        if len(stored) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_records(
            engine, faulty, _faulty_records(200), page_size=10, jobs=2, on_page=interrupt
        )
    assert _count(engine, store.unit_block) == 20
    assert _no_workers_left()


def test_a_connector_not_installed_under_its_name_is_refused(engine: sa.Engine) -> None:
    from metaregistry_connectors.generic import GenericConnector

    with pytest.raises(ValueError, match="not the one installed under that name"):
        ingest_records(engine, GenericConnector(), [], jobs=2)


def _generic_rows(n: int, bad_every: int = 0) -> Iterator[dict[str, Any]]:
    """Generic-format blocks; every ``bad_every``-th has a quantity that does not match."""
    for i in range(n):
        yield {
            "registry": "carb",
            "record_id": f"carb-{i}",
            "serial": f"CAFR{i}-A",
            "scheme": "car",
            "scope": "9010",
            "block_start": i * 100 + 1,
            "block_end": i * 100 + 100,
            "quantity": 7 if bad_every and i % bad_every == 0 else 100,
            "status": "issued",
        }


def _generic_file(path: Path, n: int, bad_every: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for row in _generic_rows(n, bad_every):
            out.write(json.dumps(row) + "\n")
    return path


def test_import_jobs_stores_what_one_process_stores(
    tmp_path: Path, db_url: str, other_db_url: str, stamps: Stamps
) -> None:
    export = _generic_file(tmp_path / "carb.ndjson", 4500, bad_every=500)
    outputs = []
    for jobs, url in (("1", db_url), ("2", other_db_url)):
        stamps.restart()
        result = CliRunner().invoke(
            main,
            ["import", "generic", str(export), "--jobs", jobs, "--no-detect"],
            env={"METAREGISTRY_DATABASE_URL": url},
        )
        assert result.exit_code == 1, result.output  # quarantined records exit 1
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert "4500 records, 4491 written, 0 unchanged, 9 quarantined" in outputs[1]
    one, many = _engine(db_url), _engine(other_db_url)
    try:
        assert _dump(one) == _dump(many)
    finally:
        one.dispose()
        many.dispose()


def test_import_refuses_zero_jobs(tmp_path: Path, db_url: str) -> None:
    export = _generic_file(tmp_path / "carb.ndjson", 3)
    result = CliRunner().invoke(
        main,
        ["import", "generic", str(export), "--jobs", "0"],
        env={"METAREGISTRY_DATABASE_URL": db_url},
    )
    assert result.exit_code == 2
    assert "--jobs" in result.output


def _session_ends(session: int) -> bool:
    """Whether every process of ``session`` exits within a few seconds (zombies, exited and
    waiting for init to reap them, count as exited)."""
    deadline = time.monotonic() + 10
    while True:
        ps = ["ps", "-o", "stat=,pid=,args=", "-s", str(session)]
        lines = subprocess.run(ps, capture_output=True, text=True).stdout.splitlines()
        left = "\n".join(line for line in lines if not line.lstrip().startswith("Z"))
        if not left:
            return True
        if time.monotonic() > deadline:
            print(f"still running:\n{left}")
            return False
        time.sleep(0.1)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_an_import_and_its_workers(tmp_path: Path, db_url: str) -> None:
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it."""
    export = _generic_file(tmp_path / "carb.ndjson", 200_000)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "metaregistry",
            "import",
            "generic",
            str(export),
            "--jobs",
            "2",
            "--no-detect",
        ],
        env=dict(os.environ, METAREGISTRY_DATABASE_URL=db_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # As from a terminal: a run started in the background by a non-interactive shell
        # (CI's, say) inherits SIGINT ignored, and so would the import, which then runs on.
        preexec_fn=_default_sigint,  # noqa: PLW1509 (no other thread runs here)
    )
    engine = _engine(db_url)
    try:
        deadline = time.monotonic() + 120
        while _count(engine, store.unit_block) < 4000:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0, err.decode()[-3000:]
        assert b"Traceback" not in err, err.decode()
        stored = _count(engine, store.unit_block)
        assert 4000 <= stored < 200_000 and stored % 2000 == 0
        with engine.connect() as conn:
            assert log_store.tree_size(conn) == stored
        assert _session_ends(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        engine.dispose()


def test_ctrl_c_while_a_page_is_stored_commits_it_then_stops(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Ctrl-C takes effect between pages: the page being stored is committed whole, then
    KeyboardInterrupt; the connection is left clean (no failed reset)."""
    engine = _engine(db_url)
    real_store_page = ingest.store_page
    pages = 0

    def store_then_ctrl_c(*args: Any, **kwargs: Any) -> Any:
        nonlocal pages
        pages += 1
        if pages == 2:  # Ctrl-C arrives in the middle of the second page's transaction
            os.kill(os.getpid(), signal.SIGINT)
        return real_store_page(*args, **kwargs)

    monkeypatch.setattr(ingest, "store_page", store_then_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(KeyboardInterrupt):
            records = (RawRecord(row, f"line {i + 1}") for i, row in enumerate(_generic_rows(500)))
            ingest.ingest_records(engine, plugins.load("generic"), records, page_size=100)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with engine.connect() as conn:
            blocks = conn.execute(sa.select(sa.func.count()).select_from(store.unit_block))
            assert blocks.scalar() == 200  # both pages whole, nothing after
            assert log_store.tree_size(conn) == 200
        assert not [r for r in caplog.records if "reset" in r.getMessage()]
    finally:
        signal.signal(signal.SIGINT, previous)
        engine.dispose()


def test_where_ctrl_c_is_ignored_or_handled_elsewhere_it_is_left_alone() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ingest._interrupt_after_commit():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)  # ignored: nothing raised, now or after
    finally:
        signal.signal(signal.SIGINT, previous)


def test_several_pages_per_transaction_store_what_a_transaction_per_page_stores(
    world: Path,
    db_url: str,
    other_db_url: str,
    stamps: Stamps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reference path (a write transaction per page) and the grouped one give the same
    rows in every table: raw_hash, record_hash, every version row, every log leaf and node
    (so the log's root), quarantine; for a first load, its unchanged resync and a resync
    with changes, one run with preparing processes."""
    per_page, grouped = _engine(db_url), _engine(other_db_url)
    try:
        refs = [r.ref for _, r in world_records(world)]
        edit = {ref: "(amended)" for ref in refs[::89]}
        for limit, engine, jobs in ((1, per_page, 1), (ingest.TRANSACTION_RECORDS, grouped, 2)):
            monkeypatch.setattr(ingest, "TRANSACTION_RECORDS", limit)
            stamps.restart()
            _ingest_world(engine, world, jobs)
            _ingest_world(engine, world, jobs)
            _ingest_world(engine, world, jobs, edit)
        expected, got = _dump(per_page), _dump(grouped)
        assert len(got["unit_block_version"]) > len(got["unit_block"]) > 2000
        assert got["log_leaves"] and got["quarantine"]
        assert expected == got
        with per_page.connect() as a, grouped.connect() as b:
            assert log_store.root(a) == log_store.root(b)
    finally:
        per_page.dispose()
        grouped.dispose()


def test_a_transaction_holds_whole_pages_up_to_its_limit(
    engine: sa.Engine, faulty: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = 0
    commits: list[int] = []

    def on_page(result: PageResult) -> None:
        nonlocal stored
        stored += result.seen

    @sa.event.listens_for(engine, "commit")
    def counted(conn: sa.Connection) -> None:
        commits.append(stored)

    monkeypatch.setattr(ingest, "TRANSACTION_RECORDS", 25)
    report = ingest_records(engine, faulty, _faulty_records(65), page_size=10, on_page=on_page)
    assert report.written == _count(engine, store.unit_block) == 65
    assert commits == [30, 60, 65]  # three pages, three pages, the rest at the end


def test_a_page_failing_to_store_is_rolled_back_alone_after_the_pages_before_it(
    engine: sa.Engine, faulty: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages of the open transaction before the failing one are committed; the failing
    page's rows (written before it failed) are not."""
    real_store_page = ingest.store_page
    pages = 0

    def store_then_fail(*args: Any, **kwargs: Any) -> Any:
        nonlocal pages
        pages += 1
        result = real_store_page(*args, **kwargs)
        if pages == 3:
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
        return result

    monkeypatch.setattr(ingest, "store_page", store_then_fail)
    with pytest.raises(sa.exc.OperationalError, match="disk I/O error"):
        ingest_records(engine, faulty, _faulty_records(50), page_size=10)
    assert _count(engine, store.unit_block) == 20
    with engine.connect() as conn:
        assert log_store.tree_size(conn) == 20


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_collector_is_paused_while_storing_and_each_commit_collects_cycles(
    engine: sa.Engine, faulty: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import weakref

    monkeypatch.setattr(ingest, "TRANSACTION_RECORDS", 20)
    cycles: list[weakref.ref[_Cycle]] = []
    seen: list[tuple[bool, int]] = []

    def on_page(result: PageResult) -> None:
        # Cycles made by the pages before the last commit (after 20 and 40 records) are gone.
        seen.append((gc.isenabled(), sum(ref() is not None for ref in cycles)))
        cycles.append(weakref.ref(_Cycle()))

    assert gc.isenabled()
    ingest_records(engine, faulty, _faulty_records(50), page_size=10, on_page=on_page)
    assert gc.isenabled()
    assert seen == [(False, 0), (False, 1), (False, 0), (False, 1), (False, 0)]
