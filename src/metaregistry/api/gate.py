"""What every request passes before and after its route: one middleware.

In order: the request is timed for ``/metrics``; a CORS preflight is answered; the request's
size and characters are checked and the client's rate limit is spent; the route runs; any
failure becomes the JSON error body of ``errors.py`` (the status and headers it names, 500
for a bug, logged). CORS headers of every other answer are added by
:func:`~metaregistry.api.limits.cors_on_prepare`, which sees streamed answers too.

One middleware, not five: each aiohttp middleware is another coroutine frame and wrapper per
request, and at a few thousand lookups a second the five cost about 5% of a lookup.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from metaregistry.api.errors import ApiError, QueryTimeoutError, error_response
from metaregistry.api.limits import CorsPolicy, TokenBucket, check_rate, check_request, preflight
from metaregistry.api.metrics import RequestMetrics, route_of

__all__ = ["error_answer", "errors_middleware", "gate_middleware"]

_log = logging.getLogger("metaregistry.api.app")

_HTTP_CODES: Final = {
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    414: "uri_too_long",
}


def gate_middleware(
    *,
    metrics: RequestMetrics,
    cors: CorsPolicy,
    max_body_bytes: int,
    bucket: TokenBucket,
    trust_forwarded_for: bool,
) -> Middleware:
    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        began = time.perf_counter()
        status = 500
        try:
            response: web.StreamResponse | None = preflight(cors, request)
            if response is None:
                try:
                    check_request(request, max_body_bytes)
                    check_rate(bucket, request, trust_forwarded_for=trust_forwarded_for)
                    response = await handler(request)
                except Exception as exc:
                    response = error_answer(request, exc)
            status = response.status
            return response
        except web.HTTPException as exc:  # a redirect, passed on
            status = exc.status
            raise
        finally:
            metrics.observe(route_of(request), request.method, status, time.perf_counter() - began)

    return gate


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Only the gate's last step, failures to their JSON answers: for an application that
    mounts some routes without the API's limits (tests of one area's routes)."""
    try:
        return await handler(request)
    except Exception as exc:
        return error_answer(request, exc)


def error_answer(request: web.Request, exc: Exception) -> web.Response:
    """The JSON error answer for a failure of a route; re-raises what must go on: a redirect
    (an HTTPException below 400) and a connection the client reset."""
    if isinstance(exc, ApiError):
        return error_response(exc)
    if isinstance(exc, QueryTimeoutError):
        return error_response(
            ApiError(
                503,
                "query_timeout",
                f"{exc}; ask for a narrower range or a smaller page",
                headers={"Retry-After": "1"},
            )
        )
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        code = _HTTP_CODES.get(exc.status, "http_error")
        return error_response(ApiError(exc.status, code, exc.reason, headers=headers))
    if isinstance(exc, ConnectionResetError):
        raise exc
    _log.error("unexpected error answering %s %s", request.method, request.path_qs, exc_info=exc)
    return error_response(
        ApiError(500, "internal_error", "the server failed to answer; this is a bug")
    )
