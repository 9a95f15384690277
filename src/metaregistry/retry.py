"""Fetching one request with retries: capped exponential backoff, full jitter, Retry-After.

Retriable: 429, 5xx, timeouts, transport errors and bodies cut off mid-stream. Anything else
that is not 2xx/304 is fatal for the source this run (401 with a wrong token, 404 on a
misconfigured base URL).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from metaregistry.connector import FatalSourceError, RequestSpec, RetriableSourceError

__all__ = ["GiveUpError", "RetryPolicy", "fetch", "parse_retry_after"]


class GiveUpError(FatalSourceError):
    """Retries were exhausted for one request; the source is given up for this run."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` tries per request; waits are uniform in [0, min(cap, base * 2**n)]
    (full jitter), and never shorter than a Retry-After the source sent (itself capped by
    ``max_retry_after``, beyond which the source is given up for this run)."""

    attempts: int = 8
    base: float = 0.25
    cap: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        wait = rng.uniform(0, min(self.cap, self.base * (2**attempt)))
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(response: httpx.Response) -> None:
    """Raise the error kind of a non-success response."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise RetriableSourceError(
            f"HTTP {status} from {response.request.url}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status >= 400:
        body = response.text[:200] if response.content else ""
        raise FatalSourceError(f"HTTP {status} from {response.request.url}: {body}")


async def fetch(
    client: httpx.AsyncClient,
    request: RequestSpec,
    *,
    policy: RetryPolicy,
    parse: Callable[[httpx.Response], Awaitable[object]] | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[int, str, float], None] | None = None,
) -> httpx.Response:
    """Send ``request`` until it succeeds or retries run out; the body is read in full, so a
    body cut off mid-stream surfaces here as a retriable error."""
    rng = rng or random.Random()
    last_error = "no attempt made"
    for attempt in range(policy.attempts):
        retry_after: float | None = None
        try:
            response = await client.request(
                request.method,
                request.url,
                params=dict(request.params) or None,
                headers=dict(request.headers) or None,
                json=request.json,
                data=dict(request.data) if request.data else None,
            )
            if response.status_code not in request.accept:
                classify(response)
            if parse is not None:
                await parse(response)
            return response
        except RetriableSourceError as exc:
            last_error, retry_after = str(exc), exc.retry_after
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            last_error = f"{type(exc).__name__}: {exc or 'connection failed'}"
        if retry_after is not None and retry_after > policy.max_retry_after:
            raise GiveUpError(
                f"{request.url}: source asked to wait {retry_after:.0f}s (Retry-After), more "
                f"than the {policy.max_retry_after:.0f}s allowed; giving up this run"
            )
        if attempt + 1 < policy.attempts:
            wait = policy.backoff(attempt, retry_after, rng)
            if on_retry is not None:
                on_retry(attempt + 1, last_error, wait)
            await sleep(wait)
    raise GiveUpError(f"{request.url}: gave up after {policy.attempts} attempts: {last_error}")
