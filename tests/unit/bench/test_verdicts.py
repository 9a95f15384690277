"""The benchmark checks each figure against the benchmark issue's target for its N."""

from __future__ import annotations

import pytest

from metaregistry.bench.cli import _verdicts, detect_full_goal


@pytest.mark.parametrize(
    ("n", "goal"),
    [(1_000_000, 3.0), (10_000_000, 40.0), (5_500_000, 21.5), (20_000_000, 80.0)],
)
def test_full_detection_may_take_3_s_at_1m_and_40_s_at_10m(n: int, goal: float) -> None:
    assert detect_full_goal(n) == pytest.approx(goal)


def test_each_figure_is_judged_against_its_target() -> None:
    figures = {
        "detect_full_seconds": 36.0,
        "log_append_seconds": 140.0,
        "lookup_ratio_to_trivial": 0.19,
        "lookup_p99_ms": None,
    }
    out = _verdicts(figures, 10_000_000)
    assert out["detect_full_seconds"] == {"value": 36.0, "target": "<= 40", "met": True}
    assert out["log_append_seconds"] == {"value": 140.0, "target": "<= 150", "met": True}
    assert out["lookup_ratio_to_trivial"]["met"] is False
    assert "lookup_p99_ms" not in out  # not measured: not judged
    assert _verdicts({"detect_full_seconds": 3.5}, 1_000_000)["detect_full_seconds"]["met"] is False
