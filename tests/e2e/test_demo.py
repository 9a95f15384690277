"""The main job, as a user runs it: ``metaregistry demo --once`` (mocks as real processes,
faults on, sync of all five connectors, generic imports, detection, summary)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

KINDS = (
    "double_issuance",
    "double_use",
    "use_after_transfer",
    "quantity_mismatch",
    "internal_overlap",
)
LINKS = ("conversion", "transition", "mirror", "tokenization", "compliance_move")


@pytest.mark.slow
def test_demo_once_syncs_every_registry_and_finds_every_kind(tmp_path: Path) -> None:
    base = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metaregistry",
            "demo",
            "--once",
            "--records",
            "3000",
            "--dir",
            str(base),
            "--faults",
            "429=0.05,5xx=0.05,truncate=0.02,repeat=0.02",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((base / "summary.json").read_text())
    world = json.loads((base / "world" / "world.json").read_text())
    # every registry of the world made it into the index, with its units
    for registry, facts in world["registries"].items():
        assert registry in summary["registries"], registry
        assert summary["registries"][registry]["blocks"] == facts["records"], registry
        assert summary["registries"][registry]["units"] == sum(facts["units_by_status"].values()), (
            registry
        )
    assert summary["quarantined"] == {}  # no malformed records without the malformed fault
    for kind in KINDS:
        assert summary["alerts"].get(kind, 0) > 0, kind
    for kind in LINKS:
        assert summary["links"].get(kind, 0) > 0, kind
    for name in ("verra", "gold-standard", "srn-ppi", "tccr", "jcm"):
        assert f"  {name:<14} ok" in result.stdout + result.stderr
    assert (base / "log-key.pem").exists()
    # Issue 22: the demo ends with the next commands; each works as printed (here with
    # --config, the demo's folder not being ./.demo), on the demo's index.
    printed = result.stdout.split("next, on the demo's index")[1].splitlines()[1:]
    commands = [line.strip() for line in printed if line.startswith("  python3 run.py ")]
    assert [c.split()[5] for c in commands] == ["lookup", "alerts", "reconcile", "quarantine"]
    for command in commands:
        args = shlex.split(command)[3:]  # after "python3 run.py metaregistry"
        done = subprocess.run(
            [sys.executable, "-m", "metaregistry", *args],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, (command, done.stderr[-2000:])
        assert "created a new, empty index" not in done.stderr, command
        if args[-2] == "lookup":
            assert "held in " in done.stdout and "0 registries" not in done.stdout, done.stdout
        if args[-1] == "alerts":
            assert "double_use" in done.stdout, done.stdout[:2000]


def test_demo_refuses_a_bad_option_before_anything_runs(tmp_path: Path) -> None:
    """A bad connector option in the environment, next to four healthy connectors: one line
    naming it, before a world is generated or a mock started (no traceback)."""
    import os

    base = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "metaregistry", "demo", "--once", "--dir", str(base)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "METAREGISTRY_CONNECTORS__SRN_PPI__PAGE_SIZE": "lots"},
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip() == (
        "Error: connectors.srn-ppi.page_size: Input should be a valid integer, unable to "
        "parse string as an integer (value: 'lots')"
    )
    assert not (base / "world").exists()


@pytest.mark.slow
def test_the_demos_daemon_syncs_again_on_its_schedule(tmp_path: Path, free_port: int) -> None:
    """After its first sync the demo keeps a daemon running: it syncs every registry again on
    its schedule (before the fix its jobs were added paused and never ran)."""
    import os
    import signal
    import sqlite3
    import time

    base = tmp_path / "demo"
    out = (tmp_path / "demo.out").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "metaregistry",
            "demo",
            "--records",
            "500",
            "--dir",
            str(base),
            "--faults",
            "",
            "--port",
            str(free_port),
            "--schedule",
            "interval:4s",
        ],
        stdout=out,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
    )

    def runs() -> list[tuple[str, str]]:
        db = base / "metaregistry.db"
        if not (base / "summary.json").exists() or not db.exists():
            return []
        with sqlite3.connect(db) as conn:
            return list(conn.execute("SELECT connector, outcome FROM sync_run ORDER BY id"))

    try:
        deadline = time.monotonic() + 300
        while len([r for r in runs() if r[1] == "ok"]) < 15 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.5)
        # Issue 22: the verify command the demo printed works as printed, on its server.
        printed = (tmp_path / "demo.out").read_text().splitlines()
        (verify,) = [line.strip() for line in printed if " verify --key " in line]
        assert verify.endswith(f"--url http://127.0.0.1:{free_port}"), verify
        checked = subprocess.run(
            [sys.executable, "-m", "metaregistry", *shlex.split(verify)[3:]],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "is signed by the key" in checked.stdout, checked.stdout
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the daemon stops, the mocks with it
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        out.close()
    ok = [connector for connector, outcome in runs() if outcome == "ok"]
    # the demo's own first sync (5) and at least two of the daemon's rounds after it
    assert len(ok) >= 15, runs()
    for name in ("verra", "gold-standard", "srn-ppi", "tccr", "jcm"):
        assert ok.count(name) >= 3, (name, runs())
