"""A process's own peak memory, for the benchmark and its worker processes."""

from __future__ import annotations

import resource
import sys

__all__ = ["peak_rss_kib"]


def peak_rss_kib() -> int:
    """This process's peak resident set size in KiB.

    On Linux: ``VmHWM`` of ``/proc/self/status``, the high-water mark of this program's own
    address space. ``ru_maxrss`` is not that: Linux carries it across ``exec``, so a process
    started by fork + exec from a large parent (``subprocess``, ``multiprocessing``'s spawn)
    reports at least the parent's size at the fork; the benchmark's phases reported the
    benchmark process's 260 MiB as their own peak that way. Elsewhere: ``ru_maxrss``
    (bytes on macOS)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak
