"""SIGTERM stops a command the way Ctrl-C does.

Python's default answer to SIGTERM is to die on the spot: no ``finally`` block, no context
manager's exit runs, and every process the command started (mock registries, API workers,
preparing processes, benchmark phases) is left running with parent 1. ``docker stop``,
systemd and CI send SIGTERM at any moment, so every command installs
:func:`stop_on_sigterm` first (``metaregistry.cli.main``): SIGTERM then raises
:class:`KeyboardInterrupt` in the main thread, and the same clean-up that Ctrl-C runs (each
starter's ``with`` block or ``finally`` stops what it started) runs for it too.

A command with its own graceful stop (``sync``, ``daemon``, ``serve``) installs its own
handlers over this one while it runs; asyncio restores the default when its loop closes, so
a command that goes on after a loop (the demo) calls :func:`stop_on_sigterm` again.
"""

from __future__ import annotations

import contextlib
import signal
from types import FrameType

__all__ = ["PARENT_ENV", "die_with_parent", "stop_on_sigterm"]

#: The environment variable naming a child's parent PID for :func:`die_with_parent`.
PARENT_ENV = "METAREGISTRY_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def stop_on_sigterm() -> None:
    """SIGTERM raises :class:`KeyboardInterrupt` from now on (main thread only; a call
    from another thread is a no-op)."""
    # not the main thread (ValueError): signals are the main thread's business
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, _interrupt)


def die_with_parent(parent: int | None) -> None:
    """In a child process: SIGTERM when ``parent`` dies, SIGKILL of it included (Linux's
    PR_SET_PDEATHSIG; elsewhere nothing), and exit now if it is already gone. The parent
    must have started this process from its main thread (the signal follows the thread)."""
    import ctypes
    import os
    import sys

    if parent is None or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the parent's own clean-up still stops it
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(0)


def parent_from_environment() -> int | None:
    import os

    value = os.environ.get(PARENT_ENV, "")
    return int(value) if value.isdigit() else None
