"""``python -m metaregistry.mock.server NAME ...``: the ``mock-registry`` command alone (what
:func:`~metaregistry.mock.server.spawn` runs: it loads no other command module).

Started by :func:`~metaregistry.mock.server.spawn` (``METAREGISTRY_MOCK_PARENT`` names the
parent's PID), it stops when its parent dies, even by SIGKILL (Linux: the kernel sends it
SIGTERM), so a demo killed outright leaves no mock behind."""

import ctypes
import os
import signal
import sys

from metaregistry.mock.server.command import mock_registry_command

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    parent = os.environ.get("METAREGISTRY_MOCK_PARENT", "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl here: the parent's clean-up still stops it
        return
    if os.getppid() != int(parent):  # the parent died before prctl took effect
        sys.exit(0)


_die_with_parent()
mock_registry_command(prog_name="metaregistry mock-registry")
