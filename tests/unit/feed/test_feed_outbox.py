from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from metaregistry.feed import outbox
from metaregistry.feed.tables import WebhookOutboxRow
from metaregistry.feed.testing import AlertWriter
from metaregistry.settings import WebhookSettings

NOW = datetime(2026, 6, 1, tzinfo=UTC)
_outbox = WebhookOutboxRow.__table__  # type: ignore[attr-defined]


def hook(url: str = "http://127.0.0.1:9/hook", **extra: object) -> WebhookSettings:
    return WebhookSettings.model_validate({"url": url, "secret": "s", **extra})


def states(engine: sa.Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_outbox.c.event_id, _outbox.c.state).order_by("event_id"))
        return [(int(r[0]), str(r[1])) for r in rows]


def fill(engine: sa.Engine, *hooks: WebhookSettings) -> None:
    with engine.begin() as conn:
        outbox.register(conn, hooks, now=NOW)
    for h in hooks:
        with engine.begin() as conn:
            outbox.fill(conn, h, now=NOW, limit=500)


def test_a_new_subscriber_starts_after_the_newest_event_unless_earliest(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    old = alerts.open("old")
    latest, earliest = hook("http://a.test/h"), hook("http://b.test/h", start="earliest")
    fill(feed_engine, latest, earliest)
    new = alerts.open("new")
    fill(feed_engine, latest, earliest)
    with feed_engine.connect() as conn:
        rows = conn.execute(sa.select(_outbox.c.subscriber_id, _outbox.c.event_id)).all()
    assert sorted((r[0] == latest.id, r[1]) for r in rows) == [
        (False, old),
        (False, new),
        (True, new),
    ]


def test_filling_twice_adds_nothing_and_filtered_events_are_skipped(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    only_use = hook(kind="double_use", start="earliest")
    use = alerts.open("u", kind="double_use")
    issuance = alerts.open("i", kind="double_issuance")
    fill(feed_engine, only_use)
    fill(feed_engine, only_use)
    later = alerts.change("u", "resolved")
    fill(feed_engine, only_use)
    assert states(feed_engine) == [(use, "pending"), (issuance, "skipped"), (later, "pending")]


def claim(engine: sa.Engine, h: WebhookSettings, owner: str, at: datetime) -> list[outbox.Claim]:
    with engine.begin() as conn:
        return outbox.claim(conn, [h.id], owner=owner, now=at, lease=60, limit=10)


def test_a_claim_is_leased_and_taken_over_only_after_the_lease_ends(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    h = hook(start="earliest")
    event = alerts.open("a")
    fill(feed_engine, h)
    first = claim(feed_engine, h, "daemon-1", NOW)
    assert [(c.event.id if c.event else None, c.attempt) for c in first] == [(event, 1)]
    assert claim(feed_engine, h, "daemon-2", NOW + timedelta(seconds=59)) == []
    # daemon-1 died: its lease ends and daemon-2 takes the delivery over.
    second = claim(feed_engine, h, "daemon-2", NOW + timedelta(seconds=61))
    assert [c.attempt for c in second] == [2]
    with feed_engine.begin() as conn:
        lost = outbox.record_failure(
            conn, first[0].outbox_id, owner="daemon-1", status=500, error="x", retry_at=NOW
        )
        assert lost is False
        outbox.record_success(conn, second[0].outbox_id, status=204, now=NOW)
    assert states(feed_engine) == [(event, "delivered")]
    assert claim(feed_engine, h, "daemon-3", NOW + timedelta(days=1)) == []


def test_a_failure_waits_for_its_retry_time_then_gives_up_when_told(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    h = hook(start="earliest")
    event = alerts.open("a")
    fill(feed_engine, h)
    (first,) = claim(feed_engine, h, "d", NOW)
    with feed_engine.begin() as conn:
        assert outbox.record_failure(
            conn,
            first.outbox_id,
            owner="d",
            status=503,
            error="HTTP 503",
            retry_at=NOW + timedelta(seconds=30),
        )
    assert claim(feed_engine, h, "d", NOW + timedelta(seconds=29)) == []
    (again,) = claim(feed_engine, h, "d", NOW + timedelta(seconds=30))
    with feed_engine.begin() as conn:
        outbox.record_failure(
            conn, again.outbox_id, owner="d", status=None, error="refused", retry_at=None
        )
    assert states(feed_engine) == [(event, "failed")]
    with feed_engine.connect() as conn:
        row = conn.execute(sa.select(_outbox.c.attempts, _outbox.c.last_error)).one()
    assert tuple(row) == (2, "refused")


def test_concurrent_claims_on_postgresql_take_disjoint_rows(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    if feed_engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serializes writers instead")
    h = hook(start="earliest")
    ids = {alerts.open(f"a{n}") for n in range(6)}
    fill(feed_engine, h)
    with feed_engine.connect() as one, feed_engine.connect() as two:
        first = outbox.claim(one, [h.id], owner="1", now=NOW, lease=60, limit=3)
        # ``one`` still holds its row locks: ``two`` skips them instead of waiting.
        second = outbox.claim(two, [h.id], owner="2", now=NOW, lease=60, limit=10)
        one.commit()
        two.commit()
    got = [c.event.id for c in first + second if c.event is not None]
    assert sorted(got) == sorted(ids)
    assert len(first) == 3


def test_pruning_deletes_old_finished_deliveries_and_never_refills_them(
    feed_engine: sa.Engine, alerts: AlertWriter
) -> None:
    h = hook(start="earliest", kind="double_use")
    delivered = alerts.open("u")
    alerts.open("i", kind="double_issuance")  # skipped by the filter
    failed = alerts.open("f")
    fill(feed_engine, h)
    claims = {c.event.id: c for c in claim(feed_engine, h, "d", NOW) if c.event is not None}
    with feed_engine.begin() as conn:
        outbox.record_success(conn, claims[delivered].outbox_id, status=200, now=NOW)
        outbox.record_failure(
            conn, claims[failed].outbox_id, owner="d", status=500, error="x", retry_at=None
        )
        assert outbox.prune(conn, before=NOW) == 0  # not old enough
        assert outbox.prune(conn, before=NOW + timedelta(days=1)) == 2
    fill(feed_engine, h)
    assert states(feed_engine) == [(failed, "failed")]
