"""Issue 20 item 2: every command that starts processes stops them on SIGTERM or SIGINT in
every phase. Each case starts a command in its own session, sends the signal to the
command's process only (as ``docker stop`` or systemd do to PID 1) at a chosen moment, and
checks that no process of the session is left."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from metaregistry.index.db import create_engine, migrate

Ready = Callable[[subprocess.Popen[bytes], list[str]], bool]


def session_members(sid: int) -> list[int]:
    """Live processes of session ``sid`` (zombies left out: they are already dead)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found.append(int(entry))
    return found


def stop_at(
    args: list[str], env: dict[str, str], ready: Ready, signum: int, timeout: float = 240
) -> tuple[list[str], int]:
    """Run ``metaregistry ARGS``; once ``ready(proc, lines so far)`` send ``signum`` to the
    process; returns its output lines and the processes of its session still alive 5 s
    after it exited (their count)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "metaregistry", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while not ready(proc, lines):
            assert time.monotonic() < deadline, "\n".join(lines[-30:])
            assert proc.poll() is None, "exited before the moment: " + "\n".join(lines[-30:])
            if selector.select(0.1):
                raw = proc.stdout.readline()
                lines.append(raw.decode("utf-8", "replace").rstrip())
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=120)
    lines += out.decode("utf-8", "replace").splitlines()
    left: list[int] = []
    end = time.monotonic() + 5
    while time.monotonic() < end:
        left = session_members(proc.pid)
        if not left:
            break
        time.sleep(0.2)
    for pid in left:  # the test leaves nothing behind either
        os.kill(pid, signal.SIGKILL)
    return lines, len(left)


def said(text: str) -> Ready:
    return lambda _proc, lines: any(text in line for line in lines)


def members(n: int, then: float = 0.0) -> Ready:
    """Once the session holds ``n`` processes (and ``then`` seconds more)."""
    seen: list[float] = []

    def ready(proc: subprocess.Popen[bytes], _lines: list[str]) -> bool:
        if not seen and len(session_members(proc.pid)) >= n:
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= then

    return ready


SIGNALS = pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"]
)


@SIGNALS
@pytest.mark.parametrize(
    "phase",
    ["mocks-starting", "syncing", "daemon"],
)
def test_the_demo_leaves_no_process(
    tmp_path: Path, free_port: int, phase: str, signum: int
) -> None:
    moments: dict[str, Ready] = {
        "mocks-starting": said("mock verra"),  # the first of five is up, the others start
        "syncing": said("generic: imported"),
        "daemon": said("lookup API and web page"),
    }
    env = {**os.environ, "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "key.pem")}
    args = ["demo", "--records", "2000", "--dir", str(tmp_path / "demo"), "--port"]
    lines, left = stop_at([*args, str(free_port)], env, moments[phase], signum)
    assert left == 0, "\n".join(lines[-30:])


@SIGNALS
@pytest.mark.parametrize("phase", ["workers-starting", "serving"])
def test_serve_with_workers_leaves_no_process(
    tmp_path: Path, free_port: int, phase: str, signum: int
) -> None:
    database = f"sqlite:///{tmp_path / 'index.db'}"
    engine = create_engine(database)
    migrate(engine)
    engine.dispose()
    env = {
        **os.environ,
        "METAREGISTRY_DATABASE_URL": database,
        "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "key.pem"),
    }
    ready = said("metaregistry API on") if phase == "workers-starting" else members(4, 3.0)
    args = ["serve", "--workers", "3", "--port", str(free_port)]
    lines, left = stop_at(args, env, ready, signum)
    assert left == 0, "\n".join(lines[-30:])


def _generic_file(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            line = {
                "registry": "verra",
                "record_id": f"v-{i}",
                "status": "issued",
                "serial": f"s-{i}",
                "scheme": "vcs",
                "scope": "",
                "block_start": i * 10,
                "block_end": i * 10 + 9,
            }
            out.write(json.dumps(line) + "\n")
    return path


@SIGNALS
@pytest.mark.parametrize("phase", ["preparers-starting", "importing"])
def test_import_with_jobs_leaves_no_process(
    tmp_path: Path, db_url: str, phase: str, signum: int
) -> None:
    source = _generic_file(tmp_path / "blocks.ndjson", 200_000)
    env = {
        **os.environ,
        "METAREGISTRY_DATABASE_URL": db_url,
        "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "key.pem"),
    }
    ready = members(2) if phase == "preparers-starting" else members(3, 4.0)
    lines, left = stop_at(["import", "generic", str(source), "--jobs", "2"], env, ready, signum)
    assert left == 0, "\n".join(lines[-30:])


@pytest.mark.parametrize("phase", ["first-phase", "later"])
def test_bench_leaves_no_process(tmp_path: Path, phase: str) -> None:
    ready = members(2) if phase == "first-phase" else members(3)
    args = ["bench", "--quick", "--no-pg", "--workdir", str(tmp_path / "bench")]
    args += ["--out", str(tmp_path / "bench.json")]
    lines, left = stop_at(args, dict(os.environ), ready, signal.SIGTERM, timeout=600)
    assert left == 0, "\n".join(lines[-30:])


@pytest.mark.parametrize("command", ["demo", "serve-workers", "bench"])
def test_a_command_killed_outright_leaves_no_process(
    tmp_path: Path, free_port: int, command: str
) -> None:
    """SIGKILL cannot be handled; the processes it started stop on their own when it dies
    (Linux: the kernel tells them, PR_SET_PDEATHSIG): the demo's mocks, serve's workers,
    the benchmark's phase."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    env = {**os.environ, "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "key.pem")}
    if command == "demo":
        args = ["demo", "--records", "2000", "--dir", str(tmp_path / "demo")]
        args += ["--port", str(free_port)]
        ready = said("lookup API and web page")
    elif command == "serve-workers":
        database = f"sqlite:///{tmp_path / 'index.db'}"
        engine = create_engine(database)
        migrate(engine)
        engine.dispose()
        env["METAREGISTRY_DATABASE_URL"] = database
        args = ["serve", "--workers", "3", "--port", str(free_port)]
        ready = members(4, 3.0)
    else:
        args = ["bench", "--quick", "--no-pg", "--workdir", str(tmp_path / "bench")]
        args += ["--out", str(tmp_path / "bench.json")]
        ready = members(2, 1.0)
    lines, left = stop_at(args, env, ready, signal.SIGKILL)
    assert left == 0, "\n".join(lines[-30:])
