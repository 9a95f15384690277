"""A mock registry as a real process on a real port, for tests and the demo.

::

    with spawn("srn-ppi", world_dir, faults="429=0.05,5xx=0.05", token="t") as mock:
        httpx.get(f"{mock.url}/api/v1/unit-karbon", headers=...)

The child is ``python -m metaregistry.mock.server NAME ...`` (the same command as
``metaregistry mock-registry``); it is ready when it prints its ``listening on`` line.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["MockProcess", "MockStartError", "spawn"]

_READY = re.compile(r"^mock-registry (\S+) listening on (http://\S+)$")


class MockStartError(RuntimeError):
    """The mock process exited or stayed silent instead of getting ready."""


class MockProcess:
    """A running mock registry process; ``url`` is its base URL (no trailing slash)."""

    def __init__(self, name: str, args: list[str], *, ready_timeout: float) -> None:
        self.name = name
        self.args = args
        # The child's stderr, kept for error messages; lives as long as the process.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=self._log,
            # the child stops when this process dies, SIGKILL included (see __main__)
            env={**os.environ, "METAREGISTRY_PARENT_PID": str(os.getpid())},
        )
        try:
            self.url = self._wait_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> str:
        stdout = self.process.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise MockStartError(
                        f"mock {self.name} not ready after {timeout:.0f}s: {self.stderr()}"
                    )
                if not selector.select(left):
                    continue
                line = stdout.readline().decode("utf-8", "replace").strip()
                if not line and self.process.poll() is not None:
                    raise MockStartError(
                        f"mock {self.name} exited with {self.process.returncode}: {self.stderr()}"
                    )
                match = _READY.match(line)
                if match:
                    return match.group(2)

    def stderr(self) -> str:
        """What the process wrote to stderr so far (for error messages)."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> MockProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def spawn(
    name: str,
    world_dir: Path | None = None,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    faults: str | None = None,
    fault_seed: int = 0,
    token: str | None = None,
    seed: int | None = None,
    records: int | None = None,
    ready_timeout: float = 120.0,
) -> MockProcess:
    """Start mock ``name`` over ``world_dir`` (or a world generated from ``seed`` and
    ``records``) and wait until it listens. Port 0 picks a free port."""
    args = [sys.executable, "-m", "metaregistry.mock.server", name]
    args += ["--host", host, "--port", str(port), "--fault-seed", str(fault_seed)]
    if world_dir is not None:
        args += ["--world", str(world_dir)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if records is not None:
        args += ["--records", str(records)]
    if faults:
        args += ["--faults", faults]
    if token is not None:
        args += ["--token", token]
    return MockProcess(name, args, ready_timeout=ready_timeout)
