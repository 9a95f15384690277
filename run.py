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
import subprocess
import sys
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
    print("installing metaregistry and its dependencies into .venv ...", file=sys.stderr, flush=True)
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-q", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def call(args: list[str]) -> int:
    """Run ``args`` and return its exit code. Ctrl-C reaches the child too (same process
    group): wait for it to finish its own shutdown instead of dying with a traceback."""
    proc = subprocess.Popen(args)
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
