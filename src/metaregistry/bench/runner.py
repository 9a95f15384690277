"""Running one phase in a child process and reading its peak RSS from ``wait4``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

__all__ = ["PhaseError", "run_phase"]


class PhaseError(RuntimeError):
    """A benchmark phase failed in its child process."""


def run_phase(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``name`` in a fresh interpreter; its result has ``peak_rss_mib``, the child's own."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "metaregistry.bench.child", name, json.dumps(params)],
        env={**os.environ, "METAREGISTRY_PARENT_PID": str(os.getpid())},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        out = proc.stdout.read()
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # Ctrl-C or SIGTERM (metaregistry.stopping): the phase stops too
        _stop(proc)
        raise
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise PhaseError(f"phase {name} failed ({proc.returncode}): {err.strip()[-2000:]}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise PhaseError(f"phase {name} printed no result: {err.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    # The child reports its own peak (VmHWM); wait4's figure also counts the parent's size
    # at the fork (Linux keeps ru_maxrss across exec) and is kept for comparison only.
    result["wait4_maxrss_mib"] = round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB
    result.setdefault("peak_rss_mib", result["wait4_maxrss_mib"])
    return result


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to the phase's process (it stops what it started, see bench.child), SIGKILL
    when it has not exited after 30 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
