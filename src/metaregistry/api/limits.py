"""Limits on abuse: a per-client token bucket, caps on request bodies and characters, CORS.

The rate limit is a token bucket per client address: ``rate`` tokens per second, at most
``burst`` saved up; a request costs one token, and a client with none left is answered 429
with ``Retry-After`` (whole seconds until a token is back). ``rate = 0`` lifts the limit (a
benchmark does; ``metaregistry serve --no-rate-limit`` too). The client is the peer address,
or the first ``X-Forwarded-For`` address when ``[api] trust_forwarded_for`` says a proxy in
front sets it (never trust that header from the open internet: anyone can write it).

Buckets live in memory, per process: with several ``serve`` processes behind one address a
client gets the limit once per process. A bucket that has refilled equals no bucket, so
refilled ones are dropped and memory follows the clients active in the last few seconds.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

from aiohttp import web

from metaregistry.api.errors import ApiError

__all__ = [
    "CorsPolicy",
    "TokenBucket",
    "check_rate",
    "check_request",
    "client_address",
    "cors_on_prepare",
    "preflight",
]


#: Paths a load balancer or a scraper polls; never rate limited.
UNLIMITED_PATHS: Final = frozenset({"/healthz", "/metrics"})
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_SWEEP_EVERY: Final = 4096
_MAX_CLIENTS: Final = 200_000


class TokenBucket:
    """Token buckets of many clients sharing one ``rate`` (tokens/s) and ``burst``."""

    def __init__(self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic):
        if rate < 0:
            raise ValueError(f"rate_limit must be >= 0 requests per second, got {rate}")
        if rate > 0 and burst < 1:
            raise ValueError(f"burst must be >= 1 request, got {burst}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._calls = 0

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, client: str) -> float:
        """Spend one token of ``client``: 0.0 when allowed, else the seconds to wait."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        tokens, at = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0 or len(self._buckets) >= _MAX_CLIENTS:
            self._sweep(now)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _sweep(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {
            c: (tokens, at) for c, (tokens, at) in self._buckets.items() if now - at < full_after
        }
        if len(self._buckets) >= _MAX_CLIENTS:
            # Under a flood from very many addresses, forget the oldest half.
            keep = sorted(self._buckets.items(), key=lambda item: item[1][1])
            self._buckets = dict(keep[len(keep) // 2 :])


def client_address(request: web.Request, *, trust_forwarded_for: bool) -> str:
    if trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first
    return request.remote or "unknown"


def check_rate(bucket: TokenBucket, request: web.Request, *, trust_forwarded_for: bool) -> None:
    """Spend the client's token; :class:`ApiError` 429 with ``Retry-After`` when it has none
    (preflights and the paths of :data:`UNLIMITED_PATHS` are free)."""
    if bucket.enabled and request.method != "OPTIONS" and request.path not in UNLIMITED_PATHS:
        wait = bucket.take(client_address(request, trust_forwarded_for=trust_forwarded_for))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests: the limit is {bucket.rate:g} per second with bursts "
                f"of {bucket.burst:g}; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )


def check_request(request: web.Request, max_bytes: int) -> None:
    """413 for a request announcing a body larger than ``max_bytes`` (the API reads none);
    400 for control characters in the path or a query value, before any route sees them
    (no serial, slug or id contains one, and PostgreSQL refuses NUL in text)."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise ApiError(
            413,
            "request_too_large",
            f"request body of {length} bytes is over the limit of {max_bytes}",
        )
    if _CONTROL.search(request.path):
        raise ApiError(
            400,
            "invalid_parameter",
            "the path contains a control character",
            field="path",
            value=request.path.encode("unicode_escape").decode(),
        )
    if request.query_string:
        for name, value in request.query.items():
            if _CONTROL.search(value) or _CONTROL.search(name):
                raise ApiError.bad_parameter(
                    name, value.encode("unicode_escape").decode(), "contains a control character"
                )


class CorsPolicy:
    """Which browser origins may read the API's answers: ``*`` (any, the default for a public
    read-only API) or a list of exact origins."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(o.rstrip("/") for o in origins)
        self.any = "*" in self.origins

    def allow(self, origin: str) -> str | None:
        if self.any:
            return "*"
        return origin if origin.rstrip("/") in self.origins else None


_ALLOW_HEADERS: Final = "Accept, Content-Type, Last-Event-ID, If-None-Match"
_EXPOSE_HEADERS: Final = "Retry-After, ETag, Content-Length"


def preflight(policy: CorsPolicy, request: web.Request) -> web.Response | None:
    """The answer to a CORS preflight request (None for any other request);
    :func:`cors_on_prepare` adds the headers of every other answer."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    response = web.Response(status=204)
    if policy.allow(request.headers.get("Origin", "")) is not None:
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = _ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def cors_on_prepare(
    policy: CorsPolicy,
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An ``on_response_prepare`` hook: CORS headers on every answer to an allowed origin,
    streams and errors included (it runs just before the headers are sent)."""

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        allowed = policy.allow(origin) if origin else None
        if allowed is None:
            return
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers["Access-Control-Expose-Headers"] = _EXPOSE_HEADERS
        if not policy.any:
            response.headers["Vary"] = "Origin"

    return add_headers
