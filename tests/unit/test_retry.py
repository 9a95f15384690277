"""retry.fetch: when it retries, how long it waits, and when it gives up."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from metaregistry.connector import FatalSourceError, RequestSpec
from metaregistry.retry import GiveUpError, RetryPolicy, fetch, parse_retry_after

URL = "http://source.test/records"


class Sleeps:
    """A sleep that only records what it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def run(policy: RetryPolicy, sleeps: Sleeps, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await fetch(
                client,
                RequestSpec("GET", URL),
                policy=policy,
                rng=random.Random(1),
                sleep=sleeps,
                **kwargs,  # type: ignore[arg-type]
            )

    return asyncio.run(go())


@respx.mock
def test_it_gives_up_after_the_policys_attempts() -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(503))
    sleeps, retries = Sleeps(), []
    policy = RetryPolicy(attempts=3, base=1.0, cap=2.0)
    with pytest.raises(GiveUpError, match=r"gave up after 3 attempts: HTTP 503"):
        run(policy, sleeps, on_retry=lambda n, error, wait: retries.append((n, error)))
    assert route.call_count == 3
    assert len(sleeps.waits) == 2  # no wait after the last attempt
    assert all(0 <= w <= min(2.0, 1.0 * 2**i) for i, w in enumerate(sleeps.waits))
    assert [n for n, _ in retries] == [1, 2]


@respx.mock
def test_a_retry_after_beyond_max_retry_after_gives_up_at_once() -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "600"}))
    sleeps = Sleeps()
    with pytest.raises(GiveUpError, match=r"asked to wait 600s .* more than the 120s allowed"):
        run(RetryPolicy(attempts=5, max_retry_after=120.0), sleeps)
    assert route.call_count == 1 and sleeps.waits == []


@respx.mock
def test_a_retry_after_within_the_limit_is_waited_at_least() -> None:
    route = respx.get(URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
    )
    sleeps = Sleeps()
    response = run(RetryPolicy(attempts=3, base=0.01, cap=0.02), sleeps)
    assert response.status_code == 200 and route.call_count == 2
    assert sleeps.waits == [7.0]  # the jittered backoff (< 0.02 s) is below it


@respx.mock
def test_an_http_date_retry_after_is_waited_until_that_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)
    route = respx.get(URL).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
            httpx.Response(200),
        ]
    )
    sleeps = Sleeps()
    run(RetryPolicy(attempts=2, base=0.01, cap=0.02), sleeps)
    assert route.call_count == 2
    (wait,) = sleeps.waits
    assert 80 <= wait <= 90


@respx.mock
def test_an_http_date_too_far_ahead_gives_up() -> None:
    when = datetime.now(UTC) + timedelta(hours=2)
    respx.get(URL).mock(
        return_value=httpx.Response(503, headers={"Retry-After": format_datetime(when, True)})
    )
    with pytest.raises(GiveUpError, match="Retry-After"):
        run(RetryPolicy(attempts=5, max_retry_after=3600.0), Sleeps())


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 5 ") == 5.0
    assert parse_retry_after("Sat, 05 Dec 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Sat, 05 Dec 2026 11:00:00 GMT", now=now) == 0.0  # past: now
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None and parse_retry_after(None) is None
    assert parse_retry_after("-3") is None


@respx.mock
def test_transport_errors_are_retried_and_4xx_is_not() -> None:
    route = respx.get(URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200)]
    )
    sleeps = Sleeps()
    assert run(RetryPolicy(attempts=3), sleeps).status_code == 200
    assert route.call_count == 3 and len(sleeps.waits) == 2
    respx.get(URL).mock(return_value=httpx.Response(401, text="bad token"))
    with pytest.raises(FatalSourceError, match="HTTP 401") as caught:
        run(RetryPolicy(attempts=3), Sleeps())
    assert not isinstance(caught.value, GiveUpError)


@respx.mock
def test_a_status_the_request_accepts_is_handed_back_not_raised() -> None:
    respx.get(URL).mock(return_value=httpx.Response(404, json={"error": "no such document"}))

    async def go(accept: frozenset[int]) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            spec = RequestSpec("GET", URL, accept=accept)
            return await fetch(client, spec, policy=RetryPolicy(attempts=2), sleep=Sleeps())

    assert asyncio.run(go(frozenset({404}))).status_code == 404
    with pytest.raises(FatalSourceError, match="HTTP 404"):
        asyncio.run(go(frozenset({410})))
