"""``metaregistry alerts webhooks`` and ``metaregistry alerts redeliver`` on a real database,
with real deliverer passes against real local HTTP receivers."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from metaregistry.cli import main
from metaregistry.feed.events import iso
from metaregistry.feed.tables import WebhookOutboxRow
from metaregistry.feed.testing import AlertWriter, ManualClock, WebhookReceiver
from metaregistry.feed.webhooks import WebhookDeliverer
from metaregistry.settings import load_settings

pytestmark = pytest.mark.anyio
SECRET = "whsec_test"
_outbox = WebhookOutboxRow.__table__  # type: ignore[attr-defined]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def write_config(path: Path, *receivers: WebhookReceiver) -> Path:
    lines = ["[feed]", "retry_base = 10", "retry_cap = 60", "max_attempts = 2", ""]
    for receiver in receivers:
        lines += ["[[webhooks]]", f'url = "{receiver.url}"', f'secret = "{SECRET}"']
        lines += ['start = "earliest"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class World:
    """Two subscribers: ``good`` takes every event; ``broken`` answered 503 until events 1
    and 2 ran out of attempts (failed) and once for event 3 (pending, retry not yet due)."""

    engine: sa.Engine
    clock: ManualClock
    config: Path
    env: dict[str, str]
    good: WebhookReceiver
    broken: WebhookReceiver
    events: list[int]
    deliverer: WebhookDeliverer

    def cli(self, *args: str, config: Path | None = None) -> Result:
        argv = ["--config", str(config or self.config), *args]
        return CliRunner().invoke(main, argv, env=self.env)

    def rows(self) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(_outbox).order_by(_outbox.c.id)).mappings().all()
        return {int(r["id"]): dict(r) for r in rows}

    def ids(self, state: str, receiver: WebhookReceiver | None = None) -> list[int]:
        subscriber = None if receiver is None else _subscriber_id(self, receiver)
        return [
            i
            for i, r in self.rows().items()
            if r["state"] == state and subscriber in (None, r["subscriber_id"])
        ]


def _subscriber_id(world: World, receiver: WebhookReceiver) -> str:
    with world.engine.connect() as conn:
        table = sa.table("webhook_subscriber", sa.column("id"), sa.column("url"))
        query = sa.select(table.c.id).where(table.c.url == receiver.url)
        return str(conn.execute(query).scalar_one())


@pytest.fixture
async def world(
    engine: sa.Engine,
    db_url: str,
    tmp_path: Path,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[World]:
    monkeypatch.chdir(tmp_path)
    alerts = AlertWriter(engine)
    async with WebhookReceiver(SECRET) as good, WebhookReceiver(SECRET) as broken:
        config = write_config(tmp_path / "metaregistry.toml", good, broken)
        deliverer = WebhookDeliverer(
            engine, load_settings(config), owner="d1", rng=random.Random(7)
        )
        events = [alerts.open("al_1"), alerts.open("al_2")]
        broken.fail_next(4)  # two attempts each for events 1 and 2: max_attempts
        assert await deliverer.run_once() == 2
        clock.advance(60)
        assert await deliverer.run_once() == 0
        events.append(alerts.open("al_3"))
        broken.fail_next(1)  # event 3's first attempt: pending, retried 5-10 s later
        assert await deliverer.run_once() == 1
        env = {"METAREGISTRY_DATABASE_URL": db_url}
        yield World(engine, clock, config, env, good, broken, events, deliverer)
        await deliverer.aclose()


def _table_ids(output: str) -> list[int]:
    lines = output.strip().splitlines()
    assert lines[0].split()[:3] == ["ID", "STATE", "ATTEMPTS"]
    return [int(line.split()[0]) for line in lines[1:]]


async def test_the_listing_has_one_line_per_delivery_newest_first(world: World) -> None:
    assert len(world.ids("failed")) == 2 and len(world.ids("pending")) == 1
    result = world.cli("alerts", "webhooks")
    assert result.exit_code == 0, result.output
    assert _table_ids(result.stdout) == sorted(world.rows(), reverse=True)
    lines = {int(line.split()[0]): line for line in result.stdout.splitlines()[1:]}
    for failed in world.ids("failed"):
        line = lines[failed]
        assert line.split()[1:3] == ["failed", "2"]
        assert world.broken.url in line and line.endswith("HTTP 503")
    (pending,) = world.ids("pending")
    due = _utc(world.rows()[pending]["next_attempt_at"])
    assert world.clock.now < due <= world.clock.now + timedelta(seconds=10)
    assert iso(due) in lines[pending] and "al_3" in lines[pending]
    for delivered in world.ids("delivered"):
        assert lines[delivered].split()[1:3] == ["delivered", "1"]
        assert world.good.url in lines[delivered]


async def test_state_filter_and_json(world: World) -> None:
    result = world.cli("alerts", "webhooks", "--state", "failed", "--json")
    assert result.exit_code == 0, result.output
    failed = json.loads(result.stdout)
    assert [d["id"] for d in failed] == sorted(world.ids("failed"), reverse=True)
    assert sorted(d["event_id"] for d in failed) == world.events[:2]
    assert {d["alert_id"] for d in failed} == {"al_1", "al_2"}
    for d in failed:
        assert (d["state"], d["attempts"], d["last_status"]) == ("failed", 2, 503)
        assert d["last_error"] == "HTTP 503" and d["url"] == world.broken.url
        assert d["next_attempt_at"] is None and d["event_type"] == "opened"

    pending = json.loads(world.cli("alerts", "webhooks", "--state", "pending", "--json").stdout)
    (row,) = pending
    assert (row["event_id"], row["attempts"]) == (world.events[2], 1)
    assert row["next_attempt_at"] == iso(_utc(world.rows()[row["id"]]["next_attempt_at"]))

    delivered = world.cli("alerts", "webhooks", "--state", "delivered", "--json")
    assert {d["url"] for d in json.loads(delivered.stdout)} == {world.good.url}
    assert len(json.loads(delivered.stdout)) == 3

    skipped = world.cli("alerts", "webhooks", "--state", "skipped")
    assert skipped.stdout.strip() == "no webhook deliveries in state skipped"
    bad = world.cli("alerts", "webhooks", "--state", "dead")
    assert bad.exit_code == 2 and "'dead'" in bad.output


async def test_limit_shows_the_newest_and_says_how_many_there_are(world: World) -> None:
    result = world.cli("alerts", "webhooks", "--json", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert [d["id"] for d in json.loads(result.stdout)] == sorted(world.rows())[-2:][::-1]
    assert "showing the newest 2 of 6" in result.stderr
    assert world.cli("alerts", "webhooks", "--limit", "0").exit_code == 2


async def test_a_redelivered_delivery_reaches_the_receiver_on_the_next_pass(
    world: World,
) -> None:
    first, second = world.ids("failed")
    before = world.rows()
    result = world.cli("alerts", "redeliver", str(first))
    assert result.exit_code == 0, result.output
    assert f"delivery {first} " in result.stdout and "due again now" in result.stdout
    assert "2 attempts so far, last error: HTTP 503" in result.stdout
    row = world.rows()[first]
    assert (row["state"], row["attempts"], row["lease_owner"]) == ("pending", 2, None)
    assert _utc(row["next_attempt_at"]) == world.clock.now
    assert world.rows()[second] == before[second]

    assert await world.deliverer.run_once() == 1  # the clock has not moved: only it is due
    (delivery,) = world.broken.deliveries
    assert delivery.event["id"] == str(before[first]["event_id"])
    assert delivery.headers["X-Metaregistry-Delivery"] == str(first)
    assert delivery.headers["X-Metaregistry-Attempt"] == "3"
    assert world.rows()[first]["state"] == "delivered"
    assert world.ids("failed") == [second] and len(world.ids("pending")) == 1
    assert await world.deliverer.run_once() == 0


async def test_a_redelivery_that_fails_again_is_failed_after_one_more_attempt(
    world: World,
) -> None:
    first, _ = world.ids("failed")
    attempts = world.broken.attempts
    world.broken.fail_next(1, status=500)
    assert world.cli("alerts", "redeliver", str(first)).exit_code == 0
    assert await world.deliverer.run_once() == 0
    row = world.rows()[first]
    assert (row["state"], row["attempts"], row["last_error"]) == ("failed", 3, "HTTP 500")
    assert world.broken.attempts == attempts + 1


async def test_all_failed_redelivers_every_failed_one_and_nothing_else(world: World) -> None:
    failed = world.ids("failed")
    before = world.rows()
    result = world.cli("alerts", "redeliver", "--all-failed")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "2 failed deliveries due again"
    assert all(f"delivery {i} " in result.stdout for i in failed)
    after = world.rows()
    assert [after[i]["state"] for i in failed] == ["pending", "pending"]
    assert {i: r for i, r in after.items() if i not in failed} == {
        i: r for i, r in before.items() if i not in failed
    }
    assert await world.deliverer.run_once() == 2
    assert sorted(world.broken.event_ids()) == world.events[:2]
    again = world.cli("alerts", "redeliver", "--all-failed")
    assert again.exit_code == 0 and again.stdout.strip() == "no failed deliveries"


async def test_unknown_ids_are_errors_and_the_others_are_still_redelivered(
    world: World,
) -> None:
    (failed, _), delivered = world.ids("failed"), world.ids("delivered")[0]
    huge = "9" * 30  # beyond BIGINT: must be unknown, not a database error
    result = world.cli("alerts", "redeliver", "999999", str(failed), "abc", huge, str(delivered))
    assert result.exit_code == 1
    assert f"no webhook delivery with id '{huge}'" in result.stderr
    assert "no webhook delivery with id '999999'" in result.stderr
    assert "no webhook delivery with id 'abc'" in result.stderr
    assert f"delivery {delivered} is delivered, not failed: left alone" in result.stdout
    assert world.rows()[failed]["state"] == "pending"
    assert world.rows()[delivered]["state"] == "delivered"


async def test_redeliver_needs_ids_or_all_failed_but_not_both(world: World) -> None:
    (failed, _) = world.ids("failed")
    for args in ((), (str(failed), "--all-failed")):
        result = world.cli("alerts", "redeliver", *args)
        assert result.exit_code == 2 and "--all-failed" in result.output
    assert world.rows()[failed]["state"] == "failed"


async def test_a_subscriber_missing_from_the_configuration_is_warned_about(
    world: World, tmp_path: Path
) -> None:
    (failed, _) = world.ids("failed")
    only_good = write_config(tmp_path / "only-good.toml", world.good)
    result = world.cli("alerts", "redeliver", str(failed), config=only_good)
    assert result.exit_code == 0, result.output
    assert f"warning: delivery {failed}: {world.broken.url} is not among" in result.stderr
    assert world.rows()[failed]["state"] == "pending"


def test_the_commands_are_under_alerts() -> None:
    def names() -> Iterator[str]:
        result = CliRunner().invoke(main, ["alerts", "--help"])
        assert result.exit_code == 0
        commands = result.output.split("Commands:")[1]
        yield from (line.split()[0] for line in commands.strip().splitlines())

    assert {"webhooks", "redeliver", "ack", "resolve"} <= set(names())
