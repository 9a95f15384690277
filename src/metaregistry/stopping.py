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

__all__ = ["stop_on_sigterm"]


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def stop_on_sigterm() -> None:
    """SIGTERM raises :class:`KeyboardInterrupt` from now on (main thread only; a call
    from another thread is a no-op)."""
    # not the main thread (ValueError): signals are the main thread's business
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, _interrupt)
