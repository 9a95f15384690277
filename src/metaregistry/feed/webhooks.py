"""Webhook delivery: each alert event POSTed to each subscriber, at least once.

One pass (:func:`deliver_pending`) registers new subscribers, fills the outbox, claims the
deliveries that are due, POSTs them concurrently as signed CloudEvents and records each
outcome (see :mod:`metaregistry.feed.outbox` for why a delivery is neither lost across
restarts nor sent by two daemons). A 2xx answer is a delivery; anything else (another status,
a timeout, a refused connection) is retried after ``min(retry_cap, retry_base * 2**(n-1))``
seconds, less up to half of that at random so that retries of many events spread out; after
``max_attempts`` the delivery is marked ``failed`` and kept with its last error.

Receivers get the CloudEvent of :mod:`metaregistry.feed.cloudevent` with these headers:
``Content-Type: application/cloudevents+json; charset=utf-8``,
``X-Metaregistry-Signature: t=<unix>,v1=<hex>`` (:mod:`metaregistry.feed.signature`),
``X-Metaregistry-Delivery`` (the delivery's id) and ``X-Metaregistry-Attempt`` (1, 2, ...).
Deliveries of different events may arrive out of order and, rarely, twice: order by and
deduplicate on the CloudEvent ``id``.

The daemon runs :meth:`WebhookDeliverer.run_once` every few seconds, e.g. with APScheduler::

    deliverer = WebhookDeliverer(writer_engine, settings)
    scheduler.add_job(deliverer.run_once, "interval", seconds=2,
                      max_instances=1, coalesce=True)
    ...
    await deliverer.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

import httpx
from sqlalchemy.engine import Engine

from metaregistry.feed import cloudevent, outbox
from metaregistry.feed.signature import SIGNATURE_HEADER, signature_header
from metaregistry.settings import FeedSettings, Settings, WebhookSettings

__all__ = ["WebhookDeliverer", "deliver_pending", "retry_delay"]

log = logging.getLogger(__name__)

USER_AGENT = "metaregistry-webhooks/1"


@dataclass(frozen=True, slots=True)
class _Outcome:
    claim: outbox.Claim
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def retry_delay(attempt: int, config: FeedSettings, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): capped exponential
    backoff with the upper half jittered, so it is never below half the nominal wait."""
    nominal = min(config.retry_cap, config.retry_base * 2.0 ** min(attempt - 1, 62))
    return float(nominal * rng.uniform(0.5, 1.0))


def default_owner() -> str:
    """A name for this daemon that is unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def deliver_pending(
    engine: Engine,
    settings: Settings,
    client: httpx.AsyncClient,
    *,
    owner: str,
    rng: random.Random | None = None,
) -> int:
    """One delivery pass with the writer ``engine``; the number of events delivered.
    ``[feed]`` and ``[[webhooks]]`` were checked when the settings loaded."""
    config = settings.feed
    if not settings.webhooks:
        return 0
    claims = await asyncio.to_thread(_prepare, engine, settings, owner)
    if not claims:
        return 0
    hooks = {h.id: h for h in settings.webhooks}
    outcomes = await asyncio.gather(
        *(_post(client, hooks[c.subscriber_id], c, config) for c in claims)
    )
    await asyncio.to_thread(_record, engine, config, owner, outcomes, rng or random.Random())
    return sum(1 for o in outcomes if o.ok)


def _prepare(engine: Engine, settings: Settings, owner: str) -> list[outbox.Claim]:
    now = outbox.utcnow()
    config = settings.feed
    with engine.begin() as conn:
        outbox.register(conn, settings.webhooks, now=now)
        outbox.prune(conn, before=now - timedelta(days=config.keep_days))
    for hook in settings.webhooks:
        with engine.begin() as conn:
            outbox.fill(conn, hook, now=now, limit=500)
    with engine.begin() as conn:
        return outbox.claim(
            conn,
            [h.id for h in settings.webhooks],
            owner=owner,
            now=outbox.utcnow(),
            lease=config.lease,
            limit=config.batch,
        )


async def _post(
    client: httpx.AsyncClient, hook: WebhookSettings, claim: outbox.Claim, config: FeedSettings
) -> _Outcome:
    if claim.event is None:
        return _Outcome(claim, None, "the alert event no longer exists")
    payload = cloudevent.body(claim.event, source=config.source)
    headers = {
        "Content-Type": cloudevent.CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(hook.secret, payload),
        "X-Metaregistry-Delivery": str(claim.outbox_id),
        "X-Metaregistry-Attempt": str(claim.attempt),
    }
    try:
        response = await client.post(
            hook.url, content=payload, headers=headers, timeout=hook.timeout
        )
    except httpx.HTTPError as exc:
        return _Outcome(claim, None, f"{type(exc).__name__}: {exc}".rstrip(": "))
    if 200 <= response.status_code < 300:
        return _Outcome(claim, response.status_code, None)
    return _Outcome(claim, response.status_code, f"HTTP {response.status_code}")


def _record(
    engine: Engine,
    config: FeedSettings,
    owner: str,
    outcomes: list[_Outcome],
    rng: random.Random,
) -> None:
    now = outbox.utcnow()
    with engine.begin() as conn:
        for outcome in outcomes:
            claim = outcome.claim
            if outcome.error is None:
                outbox.record_success(conn, claim.outbox_id, status=outcome.status or 0, now=now)
                continue
            retry_at: datetime | None = None
            if claim.event is not None and claim.attempt < config.max_attempts:
                retry_at = now + timedelta(seconds=retry_delay(claim.attempt, config, rng))
            log.warning(
                "webhook delivery %s (event %s) attempt %s failed: %s%s",
                claim.outbox_id,
                claim.event.id if claim.event else "?",
                claim.attempt,
                outcome.error,
                "" if retry_at else "; giving up",
            )
            outbox.record_failure(
                conn,
                claim.outbox_id,
                owner=owner,
                status=outcome.status,
                error=outcome.error,
                retry_at=retry_at,
            )


class WebhookDeliverer:
    """Delivers webhooks for one daemon. Owns its HTTP client unless one is given; safe to
    recreate at any time (all state is in the database)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        owner: str | None = None,
        client: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.owner = owner or default_owner()
        self._client = client
        self._owns_client = client is None
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()

    async def run_once(self) -> int:
        """One pass; the number of events delivered. Passes of one deliverer never overlap."""
        async with self._lock:
            if self._client is None:
                self._client = httpx.AsyncClient(follow_redirects=False)
            return await deliver_pending(
                self.engine, self.settings, self._client, owner=self.owner, rng=self._rng
            )

    async def run(self, stop: asyncio.Event, *, interval: float = 2.0) -> None:
        """Pass after pass until ``stop`` is set; a failing pass is logged, not fatal."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("webhook delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
        self._client = None

    async def __aenter__(self) -> WebhookDeliverer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
