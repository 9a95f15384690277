#!/usr/bin/env python3
"""Bootstrap and run metaregistry with nothing but python3 (>= 3.11).

    python3 run.py demo [DEMO OPTIONS]   # the main job: mocks, sync, alerts, lookup API
    python3 run.py test [PYTEST ARGS]    # the test suite (METAREGISTRY_TEST_DB=postgresql
                                         #   runs it against PostgreSQL)
    python3 run.py lint                  # ruff and mypy --strict
    python3 run.py metaregistry ARGS     # any metaregistry command

Each creates ./.venv on first use and installs the project (editable, with the dev extras)
into it; it reinstalls when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".metaregistry-installed"


def _requirement_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"metaregistry needs Python >= 3.11, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV} ...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _requirement_hash()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    started = time.monotonic()
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check"]
    say("installing into .venv (about half a minute the first time, once)")
    say("  step 1 of 2: pip itself")
    subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=True)
    say("  step 2 of 2: metaregistry and its dependencies")
    _pip_with_progress([*pip, "install", "-e", f"{ROOT}[dev]"])
    STAMP.write_text(wanted)
    say(f"installed in {time.monotonic() - started:.0f} s")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _pip_with_progress(command: list[str]) -> None:
    """pip, one short line per package it fetches instead of its full output (which is kept
    and shown only if pip fails)."""
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    kept: list[str] = []
    count = 0
    for line in proc.stdout:
        kept.append(line)
        if line.startswith("Collecting "):
            count += 1
            say(f"    [{count}] {line.split()[1]}")
        elif line.startswith("Successfully installed"):
            say(f"    installed {len(line.split()) - 2} packages")
    if proc.wait() != 0:
        sys.stderr.write("".join(kept[-60:]))
        raise subprocess.CalledProcessError(proc.returncode, command)


def call(args: list[str]) -> int:
    """Run ``args`` and return its exit code. Ctrl-C reaches the child too (same process
    group): wait for it to finish its own shutdown instead of dying with a traceback. SIGTERM
    (docker stop, systemd, CI) is passed on to the child, which stops its own processes, and
    waited for the same way: stopping run.py never leaves the demo or its mocks behind."""
    proc = subprocess.Popen(args)

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, forward)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    ensure_venv()
    os.chdir(ROOT)
    if command == "test":
        return call([str(PYTHON), "-m", "pytest", *rest])
    if command == "lint":
        code = call([str(BIN / "ruff"), "check", "src", "connectors", "tests"])
        code |= call([str(BIN / "ruff"), "format", "--check", "src", "connectors"])
        code |= call([str(BIN / "mypy"), "src/metaregistry", "connectors"])
        return code
    if command == "demo":
        return call([str(BIN / "metaregistry"), "demo", *rest])
    if command == "metaregistry":
        return call([str(BIN / "metaregistry"), *rest])
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
