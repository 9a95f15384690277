"""The alert feed's HTTP routes, mounted by the API's ``create_app`` with :func:`add_routes`.

    GET /v1/alerts              alerts, filtered, newest first, cursor paging
    GET /v1/alerts/events       events after a cursor (pull)
    GET /v1/alerts/stream       the same events as Server-Sent Events
    GET /v1/alerts/feed.atom    the newest events as an Atom feed
    GET /v1/alerts/{id}         one alert and its history

Filters, on every route but the last: ``registry``, ``kind``, ``severity``, ``status``; each
may be repeated or comma-separated (``kind=double_use,double_issuance``), values of one
filter are alternatives, different filters must all match. On event routes the filters
apply to the alert as it was right after the event.

A bad parameter is answered 400 with ``{"error": "invalid_parameter", "message": "...",
"field": NAME, "value": VALUE}``; an unknown alert 404 with ``"error": "not_found"``. The
routes raise :class:`~metaregistry.api.errors.ApiError` and read parameters with
:mod:`metaregistry.api.params`; the API's gate middleware turns errors into those answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.engine import Engine

from metaregistry.api import params
from metaregistry.api.cursor import decode_cursor, encode_cursor
from metaregistry.api.errors import ApiError
from metaregistry.api.keys import ENGINE_KEY, READER_KEY, SETTINGS_KEY
from metaregistry.feed import alert_tables, atom, events, sse

__all__ = ["STOP_KEY", "add_routes"]

T = TypeVar("T")

#: Set on shutdown: open event streams end.
STOP_KEY = web.AppKey("feed_stop", asyncio.Event)

ALERT_LIMIT = (50, 500)  # default, maximum
EVENT_LIMIT = (100, 1000)
ATOM_LIMIT = (50, 200)
CURSOR_TAG = "alerts"


def add_routes(app: web.Application) -> None:
    """Add the feed's routes and its shutdown hook to ``app`` (before it starts)."""
    app[STOP_KEY] = asyncio.Event()
    app.on_shutdown.append(_stop_streams)
    # Fixed paths before ``{id}``: aiohttp matches routes in the order they were added.
    app.router.add_get("/v1/alerts", list_alerts)
    app.router.add_get("/v1/alerts/events", list_events)
    app.router.add_get("/v1/alerts/stream", stream_events, allow_head=False)
    app.router.add_get("/v1/alerts/feed.atom", atom_feed)
    app.router.add_get("/v1/alerts/{id}", get_alert)


async def _stop_streams(app: web.Application) -> None:
    app[STOP_KEY].set()


async def _read(app: web.Application, fn: Callable[[sa.Connection], T]) -> T:
    """Run ``fn`` off the event loop: through the API's reader (pooled connections, query
    deadlines) when the app has one, else on a fresh connection of the read-only engine."""
    reader = app.get(READER_KEY)
    if reader is not None:
        return await reader.run(lambda db: fn(db.sa))
    engine: Engine = app[ENGINE_KEY]

    def job() -> T:
        with engine.connect() as conn:
            return fn(conn)

    return await asyncio.to_thread(job)


# -- parameters ---------------------------------------------------------------------------


def _filter(request: web.Request) -> events.AlertFilter:
    return events.AlertFilter(
        registry=params.values(request, "registry", None),
        kind=params.values(request, "kind", alert_tables.KINDS),
        severity=params.values(request, "severity", alert_tables.SEVERITIES),
        status=params.values(request, "status", alert_tables.STATUSES),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# -- handlers -----------------------------------------------------------------------------


async def list_alerts(request: web.Request) -> web.StreamResponse:
    """``GET /v1/alerts?registry=&kind=&severity=&status=&limit=&cursor=``

    200 ``{"alerts": [ALERT, ...], "next_cursor": TEXT | null}``, newest alert first. Pass
    ``next_cursor`` back as ``cursor`` (with the same filters) for the next page; null means
    this is the last page. ``limit`` 1..500, default 50. Paging is by the alert's opening time
    and id, which never change: no alert is repeated or skipped across pages, even when
    alerts change status meanwhile (an alert opened after the first page appears only on a
    new listing). ALERT is the alert as detection stores it: ``id``, ``kind``,
    ``severity``, ``status``, ``sides``, ``overlap_start``, ``overlap_end``, ``explanation``,
    timestamps (RFC 3339, UTC) and any further column of the ``alert`` table.
    """
    alert_filter = _filter(request)
    limit = params.integer(request, "limit", ALERT_LIMIT[0], low=1, high=ALERT_LIMIT[1])
    cursor = request.query.get("cursor")
    after = (
        decode_cursor(cursor, CURSOR_TAG, parse=alert_tables.decode_order_key) if cursor else None
    )
    page, last = await _read(
        request.app, lambda c: events.read_alerts(c, alert_filter, after=after, limit=limit)
    )
    return web.json_response(
        {
            "alerts": [dict(a.data) for a in page],
            "next_cursor": encode_cursor(CURSOR_TAG, *last) if last is not None else None,
        },
        dumps=_dumps,
    )


async def get_alert(request: web.Request) -> web.StreamResponse:
    """``GET /v1/alerts/{id}``

    200: the ALERT object of ``GET /v1/alerts`` plus ``"events"``: its events, oldest first,
    each the EVENT object of ``GET /v1/alerts/events`` without ``alert``. 404 ``{"error":
    "not_found", ...}`` for an unknown id.
    """
    alert_id = request.match_info["id"]
    if len(alert_id) > 256:
        raise ApiError.bad_parameter("id", alert_id, "is longer than 256 characters")
    found = await _read(request.app, lambda c: events.read_alert_with_events(c, alert_id))
    if found is None:
        raise ApiError(404, "not_found", f"no alert with id {alert_id!r}")
    alert, history = found
    body = {**alert.data, "events": [e.to_json(with_alert=False) for e in history]}
    return web.json_response(body, dumps=_dumps)


async def list_events(request: web.Request) -> web.StreamResponse:
    """``GET /v1/alerts/events?since=CURSOR&limit=&registry=&kind=&severity=&status=``

    200 ``{"events": [EVENT, ...], "next_since": INT}``: events with an id greater than
    ``since`` (default 0: from the beginning), oldest first, at most ``limit`` (1..1000,
    default 100). Call again with ``since=next_since``; an empty list means caught up (keep
    polling with the same ``since``). The id is the cursor: an event never appears after
    one with a higher id has been served. EVENT is ``{"id": INT, "alert_id": TEXT, "type":
    "opened" | "updated" | "acknowledged" | "resolved" | "reopened", "at": RFC 3339,
    "event_hash": HEX, "alert": ALERT}`` where ``alert`` is the alert as it was right after
    the change. Without ``id`` it is the event document whose RFC 8785 SHA-256 is
    ``event_hash``, the hash logged in the tamper-evident log as leaf ``alert_event`` ``id``.
    """
    alert_filter = _filter(request)
    since = params.parse_integer("since", request.query.get("since", "0"))
    limit = params.integer(request, "limit", EVENT_LIMIT[0], low=1, high=EVENT_LIMIT[1])
    found, cursor = await _read(
        request.app, lambda c: events.read_events(c, since, limit=limit, filter=alert_filter)
    )
    return web.json_response(
        {"events": [e.to_json() for e in found], "next_since": cursor}, dumps=_dumps
    )


async def stream_events(request: web.Request) -> web.StreamResponse:
    """``GET /v1/alerts/stream`` (``Accept: text/event-stream``), same filters as events.

    Server-Sent Events: one message per EVENT (``id:`` the event id, ``event:`` its type,
    ``data:`` the EVENT JSON on one line), a ``: keepalive`` comment every 15 s when idle.
    Starts after the ``Last-Event-ID`` header, else after ``?since=``, else at the newest
    event (only new events). Reconnecting with ``Last-Event-ID`` gives exactly the events
    after it. The stream ends when the server shuts down; clients reconnect.
    """
    alert_filter = _filter(request)
    resume = sse.parse_last_event_id(request)
    if resume is None:
        after = await _read(request.app, events.head)
    else:
        name = "Last-Event-ID" if "Last-Event-ID" in request.headers else "since"
        after = params.parse_integer(name, resume)

    async def read(cursor: int) -> tuple[list[events.AlertEvent], int]:
        return await _read(
            request.app,
            lambda c: events.read_events(c, cursor, limit=EVENT_LIMIT[0], filter=alert_filter),
        )

    feed = request.app[SETTINGS_KEY].feed
    return await sse.stream_events(
        request,
        read,
        after,
        request.app[STOP_KEY],
        poll=feed.stream_poll,
        heartbeat=feed.stream_heartbeat,
    )


async def atom_feed(request: web.Request) -> web.StreamResponse:
    """``GET /v1/alerts/feed.atom?limit=`` and the filters of ``/v1/alerts``.

    200 ``application/atom+xml``: an Atom 1.0 feed of the newest ``limit`` events (1..200,
    default 50), newest first; one entry per event linking to ``/v1/alerts/{id}``. Supports
    ``If-None-Match`` (304) with the ``ETag`` it sends.
    """
    alert_filter = _filter(request)
    limit = params.integer(request, "limit", ATOM_LIMIT[0], low=1, high=ATOM_LIMIT[1])
    found = await _read(
        request.app,
        lambda c: events.read_events(c, 0, limit=limit, filter=alert_filter, newest_first=True)[0],
    )
    newest = found[0].id if found else 0
    digest = hashlib.sha256(f"{newest}?{request.query_string}".encode()).hexdigest()[:16]
    etag = f'"{digest}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    base = _public_base(request)
    body = atom.render_feed(
        found,
        self_url=f"{base}{request.rel_url}",
        alerts_url=f"{base}/v1/alerts",
        updated=datetime.now(UTC),
    )
    return web.Response(
        body=body, headers={"Content-Type": f"{atom.CONTENT_TYPE}; charset=utf-8", "ETag": etag}
    )


def _public_base(request: web.Request) -> str:
    """The origin clients reach the API at: ``[api] public_url`` when set (behind a proxy),
    else the one of this request."""
    configured = request.app[SETTINGS_KEY].api.public_url
    if configured:
        return configured.rstrip("/")
    return str(request.url.origin())
