"""``metaregistry bench``: speed and memory at scale, each figure beside a baseline measured in
the same run on the same machine, so results read as ratios rather than absolute numbers.

Every phase runs in a child process of its own, which reports its own peak RSS (``VmHWM``,
see :mod:`metaregistry.memory`: ``ru_maxrss`` would include the benchmark process's size at
the fork), not polluted by the phases before it. See :mod:`.phases`.
"""

from __future__ import annotations

from metaregistry.bench.cli import bench_command, register

__all__ = ["bench_command", "register"]
