"""A phase's peak memory is its own, not its parent's (Linux carries ru_maxrss across exec)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import pytest

from metaregistry.memory import peak_rss_kib

PROBE = (
    "import json, resource; from metaregistry.memory import peak_rss_kib; "
    "print(json.dumps([peak_rss_kib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_a_child_of_a_large_parent_reports_its_own_peak() -> None:
    ballast = bytearray(300 << 20)  # touched: 300 MiB resident in this process
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    assert peak_rss_kib() >= 300 << 10
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    own, carried = json.loads(out)
    del ballast
    assert own < 200 << 10  # a bare interpreter with the package: well under 200 MiB
    # what ru_maxrss says in the same child: the parent's size came along through exec
    assert carried >= 300 << 10


def test_peak_rss_is_positive_and_at_least_the_current_size() -> None:
    assert peak_rss_kib() >= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 4 > 0
