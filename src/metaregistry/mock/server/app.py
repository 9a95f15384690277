"""The mock registry application: a registry's routes behind auth and faults, plus admin.

A :class:`MockRegistry` declares its page routes as plain handlers ``(request, fault) ->
Reply``. Around each one, in this order: the bearer token (401 when it is wrong), the fault
decision for this attempt of this request (429 and 5xx answer at once; the handler sees
``Fault.REPEAT`` and serves a page twice; SLOW and TRUNCATE are applied while sending).

Admin endpoints (never faulted, never behind the token):

* ``GET /_mock/health``: the registry, its datasets and record counts;
* ``GET /_mock/malformed``: every record served corrupted, with the field and how;
* ``GET /_mock/stats``: requests and faults served so far.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from aiohttp import web

from metaregistry import httplog
from metaregistry.mock.server.dataset import Dataset, MalformedRecord
from metaregistry.mock.server.faults import Fault, FaultPlan, FaultSpec
from metaregistry.mock.server.reply import Reply, json_reply, send

__all__ = [
    "MockRegistry",
    "PageHandler",
    "ParamError",
    "Route",
    "build_app",
    "int_param",
    "request_key",
]

PageHandler = Callable[[web.Request, Fault | None], Awaitable[Reply]]


class ParamError(ValueError):
    """A query parameter is not what the API accepts (answered with 400)."""


def int_param(request: web.Request, name: str, default: int, *, minimum: int = 0) -> int:
    """An integer query parameter; ParamError names it and the value when it is not one."""
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ParamError(f"{name} must be an integer, got {text!r}") from None
    if value < minimum:
        raise ParamError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: PageHandler


class MockRegistry(abc.ABC):
    """One mock registry's API over its world files."""

    name: ClassVar[str]

    def __init__(self, world: Path, spec: FaultSpec, token: str | None) -> None:
        self.world = world
        self.spec = spec
        self.token = token

    @abc.abstractmethod
    def routes(self) -> Sequence[Route]:
        """The registry's API routes."""

    @abc.abstractmethod
    def datasets(self) -> Sequence[Dataset]:
        """The world files it serves (for the admin endpoints)."""

    def authorized(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        sent = request.headers.get("Authorization", "")
        scheme, _, value = sent.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), self.token.encode()
        )

    def unauthorized(self) -> Reply:
        return json_reply(
            {"error": "invalid or missing bearer token"},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    def bad_request(self, message: str) -> Reply:
        return json_reply({"error": message}, status=400)

    def too_many_requests(self, retry_after: float) -> Reply:
        return json_reply(
            {"error": "rate limit exceeded"},
            status=429,
            headers={"Retry-After": str(max(0, round(retry_after)))},
        )

    def malformed(self) -> list[MalformedRecord]:
        return [record for dataset in self.datasets() for record in dataset.malformed()]


def _server_error(status: int) -> Reply:
    # Gateways answer 502/504 in HTML, the application itself in JSON: clients see both.
    if status in (502, 504):
        text = f"<html><body><h1>{status} Gateway Error</h1></body></html>"
        return Reply(body=text.encode(), status=status, content_type="text/html")
    return json_reply({"error": "internal server error"}, status=status)


async def request_key(request: web.Request) -> str:
    """What identifies a request across retries: method, path, sorted query and body."""
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query.items()))
    body = await request.read() if request.can_read_body else b""
    digest = hashlib.sha256(body).hexdigest()[:16] if body else ""
    return f"{request.method} {request.path}?{query}#{digest}"


def _page_view(
    registry: MockRegistry, plan: FaultPlan, handler: PageHandler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def view(request: web.Request) -> web.StreamResponse:
        if not registry.authorized(request):
            return await send(request, registry.unauthorized(), None, plan, "")
        key = await request_key(request)
        fault = plan.decide(key)
        if fault is Fault.TOO_MANY_REQUESTS:
            reply = registry.too_many_requests(plan.spec.retry_after)
        elif fault is Fault.SERVER_ERROR:
            reply = _server_error(plan.server_error_status(key))
        else:
            try:
                reply = await handler(request, fault)
            except ParamError as exc:
                reply = registry.bad_request(str(exc))
            if reply.status >= 300:
                fault = None  # error answers and 304s are sent as they are
        return await send(request, reply, fault, plan, key)

    return view


def build_app(registry: MockRegistry) -> web.Application:
    """The aiohttp application serving ``registry`` with its faults."""
    httplog.install()  # requests aiohttp's parser refuses: one line each, rate-limited
    plan = FaultPlan(registry.spec)
    app = web.Application()
    for route in registry.routes():
        app.router.add_route(route.method, route.path, _page_view(registry, plan, route.handler))
    malformed_cache: list[MalformedRecord] = []

    async def health(request: web.Request) -> web.Response:
        counts = {dataset.label: len(dataset) for dataset in registry.datasets()}
        return web.json_response({"registry": registry.name, "status": "ok", "records": counts})

    async def malformed(request: web.Request) -> web.Response:
        if not malformed_cache:
            malformed_cache.extend(registry.malformed())
        return web.json_response(
            {
                "registry": registry.name,
                "fault_seed": registry.spec.seed,
                "rate": registry.spec.malformed,
                "records": [record.to_json() for record in malformed_cache],
            }
        )

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"registry": registry.name, "served": dict(plan.served)})

    app.router.add_get("/_mock/health", health)
    app.router.add_get("/_mock/malformed", malformed)
    app.router.add_get("/_mock/stats", stats)
    return app
