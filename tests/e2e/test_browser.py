"""The web page in headless Chromium, against ``metaregistry serve`` over a small index.

The page is loaded with ``?serial=...`` (it searches on load), Chromium runs its JavaScript
(``--virtual-time-budget`` lets the fetches finish) and dumps the DOM; the test asserts what a
visitor would see: the registries holding the units, their blocks, the double-use alert and
the alert feed. A screenshot is kept in ``test-artifacts/browser/`` for people to look at.

Runs wherever Chromium is installed (Debian's ``chromium``; .ci/run installs it); skipped
without it, except under CI=true where a missing browser fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from api_world import ALERT_ID, V_RET, build_world, serve_subprocess, write_config

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("headless Chromium is required under CI=true (apt-get install chromium)")
    pytest.skip("Chromium is not installed")


@pytest.fixture
def server(engine: sa.Engine, tmp_path: Path, free_port: int) -> Iterator[str]:
    build_world(engine, tmp_path)
    url = engine.url.render_as_string(hide_password=False)
    with serve_subprocess(url, write_config(tmp_path), free_port, tmp_path / "serve.log") as base:
        yield base


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


class Page(HTMLParser):
    """What the rendered DOM shows: attributes of marked elements and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.chips: list[str] = []
        self.cards: list[str] = []
        self.alerts: list[str] = []
        self.registry_rows: list[str] = []
        self.serial_links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "li" and found.get("class") == "chip":
            self.chips.append(found.get("data-registry") or "")
        if tag == "article" and "block" in (found.get("class") or ""):
            self.cards.append(found.get("data-registry") or "")
        if "data-alert" in found:
            self.alerts.append(found["data-alert"] or "")
        if tag == "tr" and "data-registry" in found:
            self.registry_rows.append(found["data-registry"] or "")
        if tag == "a" and "data-serial" in found:
            self.serial_links.append(found["data-serial"] or "")

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def test_a_visitor_sees_where_a_serial_lives(chromium: str, server: str, tmp_path: Path) -> None:
    address = f"{server}/?serial={quote(V_RET, safe='')}"
    done = run_chromium(chromium, tmp_path / "profile", "--dump-dom", address)
    assert done.returncode == 0, done.stderr[-3000:]
    page = Page()
    page.feed(done.stdout)
    text = " ".join(page.text)
    assert page.chips == ["tccr", "verra"], text[:2000]
    assert sorted(page.cards) == ["tccr", "verra", "verra"]
    assert "Held in 2 registries, 3 blocks, 1 open alert: double use (high)." in text
    assert V_RET in text
    # The alert on both sides of the double use, and once more in the alert feed.
    assert page.alerts.count(ALERT_ID) == 3
    assert "double use · high · open" in text
    # Issue 22: every alert leads to its serials; the registries are on the first screen.
    assert V_RET in page.serial_links
    assert {"verra", "tccr", "gold-standard"} <= set(page.registry_rows), page.registry_rows
    assert "blocks," in text and "units in all." in text

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "lookup.png"
    shot.unlink(missing_ok=True)
    done = run_chromium(
        chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1800", address
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_a_visitor_is_told_when_nothing_holds_the_units(
    chromium: str, server: str, tmp_path: Path
) -> None:
    done = run_chromium(chromium, tmp_path / "profile", "--dump-dom", f"{server}/?serial=vcs::5")
    assert done.returncode == 0, done.stderr[-3000:]
    page = Page()
    page.feed(done.stdout)
    text = " ".join(page.text)
    assert "Not found." in text
    assert "no registry in the index holds units 5 of scheme 'vcs'" in text
    assert page.cards == []


def test_the_alert_feed_filters_by_kind_severity_and_registry(
    chromium: str, server: str, tmp_path: Path
) -> None:
    def alerts(query: str) -> list[str]:
        done = run_chromium(chromium, tmp_path / "profile", "--dump-dom", f"{server}/?{query}")
        assert done.returncode == 0, done.stderr[-3000:]
        page = Page()
        page.feed(done.stdout)
        return page.alerts

    assert alerts("alert_kind=double_use") == [ALERT_ID]
    assert alerts("alert_kind=internal_overlap") == []
    assert alerts("alert_severity=high&alert_registry=verra") == [ALERT_ID]
    assert alerts("alert_registry=gold-standard") == []


@pytest.fixture
def server_after_a_sync(engine: sa.Engine, tmp_path: Path, free_port: int) -> Iterator[str]:
    """The small index, with a verra sync whose source stated its totals and disagreed."""
    import json
    from datetime import UTC, datetime, timedelta

    from metaregistry.index.tables import SyncRunRow

    build_world(engine, tmp_path)
    finished = datetime(2026, 12, 5, 9, 30, 0, 123456, tzinfo=UTC)
    totals = {
        "totals": {"transactions": {"records": 1200, "quantity": 56000}},
        "drift": ["transactions: source reports 1200 records, sync saw 1199 distinct"],
    }
    with engine.begin() as conn:
        conn.execute(
            SyncRunRow.__table__.insert().values(  # type: ignore[attr-defined]
                connector="verra",
                owner="test",
                started_at=finished - timedelta(minutes=5),
                heartbeat_at=finished,
                finished_at=finished,
                outcome="ok",
                pages=3,
                records_seen=1200,
                records_written=1199,
                quarantined=0,
                withdrawn=0,
                source_totals=json.dumps(totals),
            )
        )
    url = engine.url.render_as_string(hide_password=False)
    with serve_subprocess(url, write_config(tmp_path), free_port, tmp_path / "serve.log") as base:
        yield base


def test_the_registries_panel_shows_what_each_source_said_and_the_drift(
    chromium: str, server_after_a_sync: str, tmp_path: Path
) -> None:
    done = run_chromium(chromium, tmp_path / "profile", "--dump-dom", f"{server_after_a_sync}/")
    assert done.returncode == 0, done.stderr[-3000:]
    page = Page()
    page.feed(done.stdout)
    text = " ".join(page.text)
    assert "2026-12-05T09:30:00Z" in text, text[:2000]  # to the second
    assert "source: transactions 1,200 records, 56,000 units" in text
    assert "drift: transactions: source reports 1200 records, sync saw 1199 distinct" in text
    assert "not synced (imported)" in text  # the other registries, imported only
