"""The one progress display: plain lines off a terminal, rich's display on one."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from metaregistry.progress import Progress, rate_text


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_text_gives_count_rate_and_time_left() -> None:
    assert (
        rate_text(40_000, 5.0, "records", 100_000) == "40,000/100,000 records (8,000/s, 8 s left)"
    )
    assert rate_text(500, 2.0, "blocks") == "500 blocks (250/s)"
    assert rate_text(0, 0.0, "leaves", 10) == "0/10 leaves (0/s)"
    assert "2 min 05 s left" in rate_text(1_000, 1.0, "records", 126_000)


def test_plain_mode_writes_a_line_per_interval_and_a_last_line() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("import verra", stream=out, interval=5.0, clock=clock) as progress:
        progress.update("", 1_000, 10_000)  # first call: starts the clock, prints nothing
        clock.now += 1
        progress.update("", 2_000, 10_000)  # within the interval: nothing
        assert out.getvalue() == ""
        clock.now += 4
        progress.update("", 5_000, 10_000)
        clock.now += 5
        progress.update("", 10_000, 10_000)
    lines = out.getvalue().splitlines()
    assert lines == [
        "import verra: 5,000/10,000 records (1,000/s, 5 s left)",
        "import verra: 10,000/10,000 records (1,000/s)",
        "import verra: 10,000/10,000 records (1,000/s)",  # the closing line says where it ended
    ]
    assert "\r" not in out.getvalue()


def test_a_task_shorter_than_the_interval_prints_nothing() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("detect", unit="blocks", stream=out, clock=clock) as progress:
        progress.update("", 3, 6)
        clock.now += 1
        progress.update("", 6, 6)
    assert out.getvalue() == ""


def test_sync_callback_keeps_one_task_per_connector() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("sync", stream=out, interval=0.0, clock=clock)
    callback = progress.sync_callback()
    callback("verra", 1, 500)
    clock.now += 2
    callback("jcm", 1, 100)
    callback("verra", 2, 1_000)
    progress.close()
    text = out.getvalue()
    assert "sync verra: 1,000 records" in text
    assert "sync jcm: 100 records" in text


def test_terminal_mode_draws_rate_and_bar() -> None:
    out = io.StringIO()
    with Progress("detect", unit="blocks", stream=out, terminal=True) as progress:
        progress.update("", 50, 100)
        progress.update("", 100, 100)
    text = out.getvalue()
    assert "detect" in text
    assert "100/100 blocks" in text
    assert "\x1b[" in text  # drawn as a live display, not plain lines


def test_disabled_writes_nothing() -> None:
    out = io.StringIO()
    with Progress("x", stream=out, enabled=False, interval=0.0) as progress:
        progress.update("", 5, 10)
    assert out.getvalue() == ""


def test_generate_shows_progress_with_a_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metaregistry import progress
    from metaregistry.mock.world.cli import generate

    monkeypatch.setattr(progress, "DEFAULT_INTERVAL", 0.0)

    result = CliRunner().invoke(
        generate, ["--seed", "7", "--records", "2000", "--out", str(tmp_path / "w")]
    )
    assert result.exit_code == 0, result.output
    assert "generate: 2,000/2,000 records (" in result.stderr
    quiet = CliRunner().invoke(
        generate, ["--seed", "7", "--records", "2000", "--out", str(tmp_path / "q"), "--quiet"]
    )
    assert quiet.exit_code == 0 and "records (" not in quiet.stderr


def test_slow_rates_read_per_minute() -> None:
    assert rate_text(2, 60.0, "phases", 7) == "2/7 phases (2.0/min, 2 min 30 s left)"
    assert rate_text(3, 2.0, "pages") == "3 pages (1.5/s)"
