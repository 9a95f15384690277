from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from metaregistry.feed.atom import render_feed
from metaregistry.feed.events import Alert, AlertEvent

A = "{http://www.w3.org/2005/Atom}"


def event(n: int, alert_id: str) -> AlertEvent:
    alert = Alert(
        id=alert_id,
        kind="double_use",
        severity="high",
        status="open",
        registries=frozenset({"verra", "tccr"}),
        data={"id": alert_id, "explanation": "Units 1-5 <retired> in verra & tccr"},
    )
    at = datetime(2026, 1, 1, 0, 0, n, tzinfo=UTC)
    return AlertEvent(
        id=n, alert_id=alert_id, type="opened", at=at, event_hash="0" * 64, alert=alert
    )


def test_the_feed_is_atom_with_one_entry_per_event() -> None:
    body = render_feed(
        [event(2, "a/2"), event(1, "a1")],
        self_url="http://h/v1/alerts/feed.atom",
        alerts_url="http://h/v1/alerts",
        updated=datetime(2030, 1, 1, tzinfo=UTC),
    )
    feed = ET.fromstring(body)
    assert feed.tag == f"{A}feed"
    assert feed.findtext(f"{A}updated") == "2026-01-01T00:00:02Z"
    assert feed.findtext(f"{A}id") and feed.find(f"{A}author/{A}name") is not None
    entries = feed.findall(f"{A}entry")
    assert [e.findtext(f"{A}id") for e in entries] == [
        "urn:metaregistry:alerts:event:2",
        "urn:metaregistry:alerts:event:1",
    ]
    first = entries[0]
    assert first.findtext(f"{A}title") == "Double use opened: tccr / verra"
    assert first.findtext(f"{A}summary", "").startswith("Units 1-5 <retired> in verra & tccr")
    link = first.find(f"{A}link")
    assert link is not None and link.get("href") == "http://h/v1/alerts/a%2F2"


def test_an_empty_feed_is_still_valid_and_dated() -> None:
    feed = ET.fromstring(
        render_feed([], self_url="s", alerts_url="a", updated=datetime(2030, 1, 1, tzinfo=UTC))
    )
    assert feed.findtext(f"{A}updated") == "2030-01-01T00:00:00Z"
    assert feed.findall(f"{A}entry") == []
