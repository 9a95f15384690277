"""Webhook delivery to a real receiver: signed CloudEvents, retries, restarts, two daemons."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from metaregistry.feed import outbox
from metaregistry.feed.signature import SIGNATURE_HEADER, verify_signature
from metaregistry.feed.tables import WebhookOutboxRow
from metaregistry.feed.testing import AlertWriter, ManualClock, WebhookReceiver
from metaregistry.feed.webhooks import WebhookDeliverer, deliver_pending
from metaregistry.settings import Settings, WebhookSettings, settings_from

pytestmark = pytest.mark.anyio
SECRET = "whsec_test"
_outbox = WebhookOutboxRow.__table__  # type: ignore[attr-defined]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def alerts(engine: sa.Engine) -> AlertWriter:
    return AlertWriter(engine)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(SECRET) as running:
        yield running


def settings_for(*hooks: dict[str, Any], **feed: Any) -> Settings:
    return settings_from(
        {"webhooks": list(hooks), "feed": {"retry_base": 10, "retry_cap": 60, **feed}}
    )


def hook(receiver: WebhookReceiver, **extra: Any) -> dict[str, Any]:
    return {"url": receiver.url, "secret": SECRET, "start": "earliest", **extra}


def outbox_rows(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_outbox).order_by(_outbox.c.event_id)).mappings().all()
    return [dict(r) for r in rows]


async def test_each_event_arrives_as_a_signed_cloudevent(
    engine: sa.Engine, alerts: AlertWriter, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    opened = alerts.open("al_1", registries=("verra", "tccr"))
    acked = alerts.change("al_1", "acknowledged")
    async with WebhookDeliverer(engine, settings_for(hook(receiver)), owner="d1") as deliverer:
        assert await deliverer.run_once() == 2
        assert await deliverer.run_once() == 0  # nothing twice
    assert receiver.rejected == []
    assert sorted(receiver.event_ids()) == [opened, acked]
    delivery = next(d for d in receiver.deliveries if d.event["id"] == str(acked))
    assert delivery.headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    verify_signature(SECRET, delivery.headers[SIGNATURE_HEADER], delivery.body)
    event = delivery.event
    assert event["specversion"] == "1.0"
    assert event["type"] == "org.metaregistry.alert.acknowledged"
    assert event["source"] == "/v1/alerts"
    assert event["subject"] == "al_1"
    assert event["data"]["alert"]["status"] == "acknowledged"
    assert event["data"]["alert"]["registry_b"] == "tccr"
    assert [r["state"] for r in outbox_rows(engine)] == ["delivered", "delivered"]


async def test_a_receiver_with_another_secret_refuses_every_delivery(
    engine: sa.Engine, alerts: AlertWriter, clock: ManualClock
) -> None:
    alerts.open("al_1")
    async with WebhookReceiver("a-different-secret") as strict:
        settings = settings_for({"url": strict.url, "secret": SECRET, "start": "earliest"})
        async with httpx.AsyncClient() as client:
            assert await deliver_pending(engine, settings, client, owner="d") == 0
    assert strict.deliveries == []
    assert "matches no secret" in strict.rejected[0]
    (row,) = outbox_rows(engine)
    assert (row["state"], row["last_status"]) == ("pending", 401)


async def test_a_failed_delivery_is_retried_later_by_a_restarted_deliverer(
    engine: sa.Engine, alerts: AlertWriter, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    event = alerts.open("al_1")
    receiver.fail_next(1, status=503)
    settings = settings_for(hook(receiver))
    first = WebhookDeliverer(engine, settings, owner="before-restart", rng=random.Random(1))
    assert await first.run_once() == 0
    await first.aclose()  # the daemon stops; all state is in the database
    (row,) = outbox_rows(engine)
    assert (row["state"], row["attempts"], row["last_error"]) == ("pending", 1, "HTTP 503")

    second = WebhookDeliverer(engine, settings, owner="after-restart", rng=random.Random(2))
    assert await second.run_once() == 0  # the retry is not due yet: no second request
    assert receiver.attempts == 1
    clock.advance(10)  # retry_base: the first retry waits 5 to 10 seconds
    assert await second.run_once() == 1
    assert await second.run_once() == 0
    await second.aclose()
    assert receiver.event_ids() == [event]
    assert receiver.attempts == 2
    assert receiver.deliveries[0].headers["X-Metaregistry-Attempt"] == "2"


async def test_a_dead_daemons_claim_is_taken_over_after_its_lease(
    engine: sa.Engine, alerts: AlertWriter, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    event = alerts.open("al_1")
    settings = settings_for(hook(receiver), lease=60)
    config = WebhookSettings.model_validate(hook(receiver))
    # A daemon claims the delivery and dies before sending it.
    with engine.begin() as conn:
        outbox.register(conn, [config], now=clock.now)
    with engine.begin() as conn:
        outbox.fill(conn, config, now=clock.now, limit=10)
    with engine.begin() as conn:
        assert outbox.claim(conn, [config.id], owner="dead", now=clock.now, lease=60, limit=10)
    async with WebhookDeliverer(engine, settings, owner="alive") as deliverer:
        assert await deliverer.run_once() == 0  # the lease still holds
        clock.advance(61)
        assert await deliverer.run_once() == 1
    assert receiver.event_ids() == [event]


async def test_retries_stop_after_max_attempts(
    engine: sa.Engine, alerts: AlertWriter, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    alerts.open("al_1")
    receiver.fail_next(3, status=500)
    settings = settings_for(hook(receiver), max_attempts=3)
    async with WebhookDeliverer(engine, settings, owner="d") as deliverer:
        for _ in range(5):
            await deliverer.run_once()
            clock.advance(60)
    (row,) = outbox_rows(engine)
    assert (row["state"], row["attempts"], row["last_status"]) == ("failed", 3, 500)
    assert receiver.attempts == 3 and receiver.deliveries == []


async def test_filters_choose_the_events_a_subscriber_gets(
    engine: sa.Engine, alerts: AlertWriter, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    alerts.open("al_use", kind="double_use")
    wanted = alerts.open("al_iss", kind="double_issuance", registries=("jcm", "tccr"))
    alerts.open("al_iss_vg", kind="double_issuance")
    settings = settings_for(hook(receiver, kind="double_issuance", registry=["tccr"]))
    async with WebhookDeliverer(engine, settings, owner="d") as deliverer:
        assert await deliverer.run_once() == 1
    assert receiver.event_ids() == [wanted]
    assert [r["state"] for r in outbox_rows(engine)] == ["skipped", "delivered", "skipped"]


async def test_two_daemons_deliver_every_event_exactly_once(
    engine: sa.Engine, alerts: AlertWriter, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    written = [alerts.open(f"al_{n:02d}") for n in range(40)]
    receiver.fail_next(5, status=502)  # some fail and are retried by whichever daemon
    settings = settings_for(hook(receiver), batch=7)
    one = WebhookDeliverer(engine, settings, owner="daemon-1")
    two = WebhookDeliverer(engine, settings, owner="daemon-2")
    delivered = 0
    for round_ in range(40):
        if round_ < 3:  # events keep arriving while the daemons work
            written.append(alerts.open(f"al_new_{round_}"))
        counts = await asyncio.gather(one.run_once(), two.run_once())
        delivered += sum(counts)
        clock.advance(60)  # every retry is due next round
        if delivered == len(written):
            break
    await one.aclose()
    await two.aclose()
    ids = receiver.event_ids()
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert sorted(ids) == written
    assert delivered == len(ids)
