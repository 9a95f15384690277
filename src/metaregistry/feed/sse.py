"""``GET /v1/alerts/stream``: alert events as Server-Sent Events.

Each event is one message::

    id: 42
    event: opened
    data: {"id": 42, "alert_id": "...", "type": "opened", "at": "...", "alert": {...}}

``id`` is the event id, so a browser's ``EventSource`` reconnects with ``Last-Event-ID: 42``
and gets exactly the events after 42. The database is polled for new events every
``poll`` seconds; a comment line (``: keepalive``) goes out when nothing else has for
``heartbeat`` seconds, so proxies keep the connection and a vanished client is noticed.
The stream ends (the response completes normally) when the application shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from metaregistry.feed.events import AlertEvent

__all__ = ["EventReader", "format_event", "parse_last_event_id", "stream_events"]

#: Reads (events after cursor, next cursor) off the event loop; bound to a filter.
EventReader = Callable[[int], Awaitable[tuple[list[AlertEvent], int]]]

RETRY_MS = 2000  # how long a browser waits before reconnecting


def format_event(event: AlertEvent) -> bytes:
    """One SSE message. JSON has no raw newlines, so ``data`` is always one line."""
    data = json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode()


async def stream_events(
    request: web.Request,
    read: EventReader,
    after: int,
    stop: asyncio.Event,
    *,
    poll: float = 1.0,
    heartbeat: float = 15.0,
) -> web.StreamResponse:
    """Serve events after ``after`` until ``stop`` is set or the client goes away."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            # nginx buffers responses unless told not to; a buffered stream is no stream.
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    try:
        await response.write(f"retry: {RETRY_MS}\n: since {after}\n\n".encode())
        last_write = time.monotonic()
        while not stop.is_set():
            events, cursor = await read(after)
            for event in events:
                await response.write(format_event(event))
                last_write = time.monotonic()
            if cursor != after:
                after = cursor
                continue  # more may be waiting: read again before sleeping
            if time.monotonic() - last_write >= heartbeat:
                await response.write(b": keepalive\n\n")
                last_write = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll)
        await response.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass  # the client left; nothing to clean up
    return response


def parse_last_event_id(request: web.Request) -> str | None:
    """The resume point a reconnecting client sent, header first (a browser's reconnect
    keeps the original URL, so its ``?since=`` would replay from the start)."""
    header = request.headers.get("Last-Event-ID")
    if header is not None and header.strip():
        return header.strip()
    return request.query.get("since")
