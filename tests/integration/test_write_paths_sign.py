"""Issue 20 item 7 and issue 23: every write path ends with a signed checkpoint, and checks
the log key before it writes anything; ``log export`` reports the rows it wrote.

Run on SQLite and PostgreSQL (``db_url``: the run's backend)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from metaregistry.cli import main
from metaregistry.index.db import create_engine, migrate
from metaregistry.log import store
from metaregistry.log.keyfile import FileSigner

ORIGIN = "metaregistry.local/log"  # the default [log] origin

LINES = [
    {
        "registry": "verra",
        "record_id": "v-1",
        "status": "retired",
        "serial": "x",
        "scheme": "vcs",
        "scope": "",
        "block_start": 1000,
        "block_end": 1099,
    },
    {
        "registry": "tccr",
        "record_id": "t-1",
        "status": "retired",
        "serial": "y",
        "scheme": "vcs",
        "scope": "",
        "block_start": 1050,
        "block_end": 1149,
    },
]


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def run(env: dict[str, str], *args: str) -> Result:
    # catch_exceptions=False: a traceback fails the test rather than passing as exit 1
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def log_state(db_url: str) -> tuple[int, int | None, int]:
    """(leaves, size of the latest checkpoint, blocks in the index)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            latest = store.latest_checkpoint(conn)
            blocks = conn.execute(sa.text("SELECT COUNT(*) FROM unit_block")).scalar()
            return store.tree_size(conn), None if latest is None else latest.size, int(blocks)
    finally:
        engine.dispose()


@pytest.fixture
def env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # the default key file (metaregistry-log.pem) lands here
    return {"METAREGISTRY_DATABASE_URL": db_url}


@pytest.mark.parametrize("key", ["configured", "default"])
@pytest.mark.parametrize("detect", [True, False])
def test_an_import_ends_with_a_checkpoint_covering_what_it_wrote(
    tmp_path: Path, env: dict[str, str], db_url: str, key: str, detect: bool
) -> None:
    if key == "configured":
        env = {**env, "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "keys" / "log.pem")}
        (tmp_path / "keys").mkdir()
    source = _write(tmp_path / "blocks.ndjson", LINES)
    result = run(env, "import", "generic", str(source), *([] if detect else ["--no-detect"]))
    assert result.exit_code == 0, result.output
    leaves, checkpoint, blocks = log_state(db_url)
    assert blocks == 2
    # two block leaves, and with detection the double use's "opened" event
    assert leaves == (3 if detect else 2)
    assert checkpoint == leaves
    assert f"checkpoint: size {leaves}" in result.output
    key_file = tmp_path / ("keys/log.pem" if key == "configured" else "metaregistry-log.pem")
    assert key_file.exists()
    answer = run(env, "lookup", "--json", "vcs::1060")
    proofs = [b["proof"] for b in json.loads(answer.stdout)["blocks"]]
    assert len(proofs) == 2 and not any(p["pending"] for p in proofs)


def test_detect_and_alert_changes_end_with_a_checkpoint(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    source = _write(tmp_path / "blocks.ndjson", LINES)
    assert run(env, "import", "generic", str(source), "--no-detect").exit_code == 0
    assert log_state(db_url)[:2] == (2, 2)
    result = run(env, "detect")
    assert result.exit_code == 0, result.output
    assert log_state(db_url)[:2] == (3, 3)  # the alert's "opened" event, signed
    alert_id = json.loads(run(env, "alerts", "--json").stdout)[0]["id"]
    assert run(env, "alerts", "ack", alert_id).exit_code == 0
    assert log_state(db_url)[:2] == (4, 4)
    assert run(env, "alerts", "resolve", alert_id).exit_code == 0
    assert log_state(db_url)[:2] == (5, 5)
    result = run(env, "detect", "--full")  # reopens the alert resolved by hand? no: same facts
    assert result.exit_code == 0, result.output
    leaves, checkpoint, _ = log_state(db_url)
    assert checkpoint == leaves


def _foreign_checkpoint(db_url: str) -> None:
    """The log's checkpoints were signed by another key than the one configured here."""
    other = FileSigner(ORIGIN, Ed25519PrivateKey.generate())
    engine = create_engine(db_url)
    migrate(engine)
    try:
        with engine.begin() as conn:
            store.publish_checkpoint(conn, other, ORIGIN)
    finally:
        engine.dispose()


WRONG_KEY = "are signed by another key than this one; use the key that signed them"


def test_a_wrong_key_stops_every_write_path_before_it_writes(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    _foreign_checkpoint(db_url)
    source = _write(tmp_path / "blocks.ndjson", LINES)
    sync_env = {**env, "METAREGISTRY_CONNECTORS__VERRA__BASE_URL": "http://127.0.0.1:9"}
    for environment, args in [
        (env, ("import", "generic", str(source))),
        (env, ("import", "generic", str(source), "--no-detect")),
        (sync_env, ("sync", "verra")),
        (env, ("detect",)),
        (env, ("quarantine", "retry")),
    ]:
        result = run(environment, *args)
        assert result.exit_code == 1, (args, result.output)
        assert WRONG_KEY in result.stderr, (args, result.stderr)
        # one line says what is wrong (a key created just now is announced on its own line)
        said = [
            line
            for line in result.stderr.strip().splitlines()
            if not line.startswith("created the log's signing key")
        ]
        assert len(said) == 1, (args, result.stderr)
        assert "nothing was written" in result.stderr
        assert log_state(db_url) == (0, 0, 0), args


def test_log_export_reports_the_rows_it_wrote_and_reads_a_leaf_stored_as_text(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    source = _write(tmp_path / "blocks.ndjson", LINES)
    assert run(env, "import", "generic", str(source)).exit_code == 0
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":  # SQLite keeps a text value in a BLOB column
                conn.execute(
                    sa.text("UPDATE log_leaves SET data = CAST(data AS TEXT) WHERE idx = 0")
                )
                assert (
                    conn.execute(
                        sa.text("SELECT typeof(data) FROM log_leaves WHERE idx = 0")
                    ).scalar()
                    == "text"
                )
    finally:
        engine.dispose()
    result = run(env, "log", "export", str(tmp_path / "export"))
    assert result.exit_code == 0, result.output
    assert "exported 3 leaves and 1 checkpoints" in result.output
    key = tmp_path / "key.txt"
    key.write_text(run(env, "log", "key").output)
    verified = run(env, "verify", "--key", str(key), "--export", str(tmp_path / "export"))
    assert verified.exit_code == 0, verified.output
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM log_leaves WHERE idx = 1"))
    finally:
        engine.dispose()
    result = run(env, "log", "export", str(tmp_path / "export2"))
    assert result.exit_code == 0, result.output
    assert "exported 2 leaves and 1 checkpoints" in result.output
    assert "1 leaf rows are missing" in result.stderr


def test_a_wrong_key_stops_the_daemon_before_it_writes(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    """The daemon's job checks the key as ``sync`` does: a failed report saying what is
    wrong, nothing stored, nothing fetched; the ``daemon`` command refuses to start."""
    import asyncio
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from paged_source import PagedConnector, PagedSource, serve

    from metaregistry.daemon import Daemon
    from metaregistry.settings import settings_from

    _foreign_checkpoint(db_url)
    with serve(PagedSource(n=20, page_size=10)) as source:
        settings = settings_from(
            {
                "database_url": db_url,
                "log": {"key_file": str(tmp_path / "k.pem")},
                "connectors": {"paged": {"base_url": source.url}},
            }
        )
        engine = create_engine(db_url)

        async def one() -> tuple[str, str | None]:
            daemon = Daemon(
                engine=engine,
                settings=settings,
                names=["paged"],
                connectors={"paged": PagedConnector()},
            )
            report = await daemon.sync_one("paged")
            return report.outcome, report.error

        outcome, error = asyncio.run(one())
        engine.dispose()
        fetched = len(source.fetches)
    assert outcome == "failed"
    assert error is not None and WRONG_KEY in error and "nothing was written" in error
    assert fetched == 0
    assert log_state(db_url) == (0, 0, 0)
    sync_env = {**env, "METAREGISTRY_CONNECTORS__VERRA__BASE_URL": "http://127.0.0.1:9"}
    result = run(sync_env, "daemon", "verra", "--no-api")
    assert result.exit_code == 1, result.output
    assert WRONG_KEY in result.stderr and "nothing was written" in result.stderr
    assert log_state(db_url) == (0, 0, 0)


def test_an_import_killed_before_its_detection_is_checked_by_the_next_write(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    """Issue 20 item 0b, an import killed mid-way: its first pages (a double use among
    them) are stored, the process is SIGKILLed before it reached detection; the next
    import, of one unrelated record, raises the double use."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**env, "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "k.pem")}
    first = {**LINES[0], "record_id": "first", "block_start": 900_000, "block_end": 900_009}
    assert run(env, "import", "generic", str(_write(tmp_path / "a.ndjson", [first]))).exit_code == 0
    filler = [
        {**LINES[0], "record_id": f"f-{i}", "block_start": i * 10, "block_end": i * 10 + 9}
        for i in range(1_000, 150_000)
    ]
    big = _write(tmp_path / "big.ndjson", LINES + filler)
    proc = subprocess.Popen(
        [sys.executable, "-m", "metaregistry", "import", "generic", str(big), "--jobs", "1"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while log_state(db_url)[2] < 3:  # its first page is stored (the double use with it)
        assert time.monotonic() < deadline and proc.poll() is None, proc.poll()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    blocks = log_state(db_url)[2]
    assert 3 <= blocks < 2 + len(filler) + 1  # killed mid-way
    assert json.loads(run(env, "alerts", "--json").stdout) == []
    other = {**LINES[0], "record_id": "other", "block_start": 800_000, "block_end": 800_009}
    result = run(env, "import", "generic", str(_write(tmp_path / "b.ndjson", [other])))
    assert result.exit_code == 0, result.output
    alerts = json.loads(run(env, "alerts", "--json").stdout)
    assert len(alerts) == 1, alerts
