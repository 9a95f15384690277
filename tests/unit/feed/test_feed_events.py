from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from metaregistry.api.cursor import decode_cursor, encode_cursor
from metaregistry.api.errors import ApiError
from metaregistry.feed import alert_tables
from metaregistry.feed.alert_tables import decode_order_key
from metaregistry.feed.events import (
    AlertFilter,
    head,
    read_alert_with_events,
    read_alerts,
    read_events,
)
from metaregistry.feed.testing import AlertWriter


def test_events_come_in_id_order_with_their_alert_and_a_cursor(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    first = alerts.open("a1")
    second = alerts.open("a2", kind="double_issuance")
    third = alerts.change("a1", "acknowledged")
    with feed_engine.connect() as conn:
        assert head(conn) == third
        page, cursor = read_events(conn, 0, limit=2)
        assert [e.id for e in page] == [first, second]
        assert cursor == second
        rest, cursor = read_events(conn, cursor, limit=2)
        assert [(e.id, e.type) for e in rest] == [(third, "acknowledged")]
        assert rest[0].alert is not None and rest[0].alert.status == "acknowledged"
        assert read_events(conn, cursor, limit=2) == ([], cursor)


def test_a_filter_skips_events_of_other_alerts_and_the_cursor_moves_past_them(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    alerts.open("gs", registries=("gold-standard", "srn-ppi"))
    for n in range(150):  # more than one scan chunk of non-matching events
        alerts.open(f"other{n}", registries=("tccr", "jcm"))
    wanted = alerts.open("v", registries=("srn-ppi", "verra"))
    only_verra = AlertFilter(registry=frozenset({"verra"}))
    with feed_engine.connect() as conn:
        page, cursor = read_events(conn, 0, limit=10, filter=only_verra)
        assert [e.alert_id for e in page] == ["v"]
        assert cursor == wanted
        newest = read_events(conn, 0, limit=3, newest_first=True)[0]
        assert [e.alert_id for e in newest] == ["v", "other149", "other148"]
        by_kind = AlertFilter(registry=frozenset({"gold-standard"}))
        assert [
            e.alert_id for e in read_events(conn, 0, limit=5, filter=by_kind, newest_first=True)[0]
        ] == ["gs"]


def test_an_alert_comes_with_its_history(feed_engine: sa.Engine, alerts: AlertWriter) -> None:
    alerts.open("a1")
    alerts.change("a1", "acknowledged")
    alerts.change("a1", "resolved")
    with feed_engine.connect() as conn:
        found = read_alert_with_events(conn, "a1")
        assert read_alert_with_events(conn, "nope") is None
    assert found is not None
    alert, history = found
    assert alert.status == "resolved"
    assert alert.registries == {"verra", "gold-standard"}
    assert [e.type for e in history] == ["opened", "acknowledged", "resolved"]


def test_alert_pages_never_repeat_or_skip_while_alerts_change(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    rng = random.Random(6)
    kinds = ["double_use", "double_issuance", "internal_overlap"]
    for n in range(40):
        alerts.open(f"a{n:02d}", kind=rng.choice(kinds))
    only_open = AlertFilter(status=frozenset({"open"}))
    seen: list[str] = []
    after = None
    with feed_engine.connect() as conn:
        expected = [a.id for a in read_alerts(conn, AlertFilter(), after=None, limit=100)[0]]
    unacknowledged = list(expected)
    while True:
        with feed_engine.connect() as conn:
            page, last = read_alerts(conn, AlertFilter(), after=after, limit=7)
        seen.extend(a.id for a in page)
        # Status changes between pages must not shift the pages.
        alerts.change(unacknowledged.pop(rng.randrange(len(unacknowledged))), "acknowledged")
        if last is None:
            break
        after = decode_cursor(encode_cursor("alerts", *last), "alerts", parse=decode_order_key)
    assert seen == expected
    assert expected[0] == "a39"  # newest first
    with feed_engine.connect() as conn:
        still_open, _ = read_alerts(conn, only_open, after=None, limit=100)
    assert all(a.status == "open" for a in still_open)
    assert len(still_open) < 40


@pytest.mark.parametrize(
    "text", ["", "x", encode_cursor("alerts", "2026-01-01T00:00:00Z"), "W1siYmxvY2tzIiwxXQ"]
)
def test_a_foreign_or_broken_cursor_is_a_400_naming_it(feed_engine: sa.Engine, text: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_cursor(text, "alerts", parse=decode_order_key)
    assert caught.value.status == 400
    assert caught.value.body()["field"] == "cursor"


def test_on_postgresql_an_event_committed_early_waits_for_a_lower_id_in_flight(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    if feed_engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers commit in id order (one write lock)")
    first = alerts.open("a")
    with feed_engine.connect() as slow:
        # A writer outside detection's and the log's locks (detection's own writers are
        # serialized by them): it draws the next id and has not committed yet.
        events = alert_tables.event_table()
        key = slow.execute(
            events.insert().values(
                alert_id="a",
                type="updated",
                at=datetime(2026, 2, 1, tzinfo=UTC),
                detail=json.dumps(alerts.document("a")),
                event_hash="0" * 64,
            )
        ).inserted_primary_key
        assert key is not None
        lower = int(key[0])
        higher = alerts.change("a", "acknowledged")  # a higher id, committed first
        assert higher > lower > first
        with feed_engine.connect() as conn:
            # Serving ``higher`` now would make a client's cursor skip ``lower`` forever.
            assert [e.id for e in read_events(conn, 0, limit=10)[0]] == [first]
            assert read_events(conn, first, limit=10) == ([], first)
            assert head(conn) == first
        slow.commit()
    with feed_engine.connect() as conn:
        assert [e.id for e in read_events(conn, first, limit=10)[0]] == [lower, higher]


def test_on_postgresql_the_gap_of_a_rolled_back_event_is_passed(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    if feed_engine.dialect.name != "postgresql":
        pytest.skip("SQLite reuses the id of a rolled-back insert: no gap")
    first = alerts.open("first")
    with feed_engine.connect() as doomed:
        lost = alerts.open_in(doomed, "doomed")
        doomed.rollback()
    after = alerts.open("after")
    assert after > lost > first
    with feed_engine.connect() as conn:
        assert [e.id for e in read_events(conn, 0, limit=10)[0]] == [first, after]
        assert head(conn) == after


def test_an_event_without_its_id_is_the_document_its_hash_covers(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    from metaregistry.canonical import hash_json

    alerts.open("a")
    alerts.change("a", "resolved")
    with feed_engine.connect() as conn:
        found, _ = read_events(conn, 0, limit=10)
    for event in found:
        document = event.to_json()
        claimed = document.pop("event_hash")
        del document["id"]
        assert hash_json(document) == claimed
    assert found[-1].to_json()["alert"]["status"] == "resolved"
    assert found[0].to_json()["alert"]["status"] == "open"
