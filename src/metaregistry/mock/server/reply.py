"""Sending a mock's reply, with the fault of the request applied.

A handler builds a :class:`Reply` (status, headers, a body as bytes or as a stream of chunks)
and never thinks about faults; :func:`send` writes it normally, slowly, or cut off.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from metaregistry.mock.server.faults import Fault, FaultPlan, unit_interval

__all__ = ["Reply", "json_reply", "send"]


@dataclass(slots=True)
class Reply:
    """A response before faults. ``body`` is bytes or an iterable of chunks (streamed with
    chunked encoding, never held in memory whole)."""

    body: bytes | Iterable[bytes]
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: Roughly how long a streamed body is (where a cut-off stream is cut).
    size_hint: int | None = None

    @property
    def is_json(self) -> bool:
        return self.content_type.startswith("application/json")


def json_reply(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(body=body, status=status, headers=dict(headers or {}))


def _content_type_header(reply: Reply) -> str:
    if "charset" in reply.content_type or not reply.content_type.startswith("text/"):
        return reply.content_type
    return f"{reply.content_type}; charset=utf-8"


async def send(
    request: web.Request, reply: Reply, fault: Fault | None, plan: FaultPlan, key: str
) -> web.StreamResponse:
    """Write ``reply`` with ``fault`` applied (SLOW and TRUNCATE here; the rest are decided
    before the handler runs)."""
    if fault is Fault.TRUNCATE:
        return await _send_truncated(request, reply, plan, key)
    delay = plan.spec.slow_seconds if fault is Fault.SLOW else 0.0
    if isinstance(reply.body, bytes):
        if not delay:
            return web.Response(
                body=reply.body,
                status=reply.status,
                headers={**reply.headers, "Content-Type": _content_type_header(reply)},
            )
        # A slow response trickles: headers and a first part at once, the rest later.
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        response.content_type = reply.content_type
        response.content_length = len(reply.body)
        await response.prepare(request)
        half = len(reply.body) // 2
        await response.write(reply.body[:half])
        await asyncio.sleep(delay)
        await response.write(reply.body[half:])
        await response.write_eof()
        return response
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    response.content_type = reply.content_type
    if reply.content_type.startswith("text/"):
        response.charset = "utf-8"
    await response.prepare(request)
    for number, chunk in enumerate(reply.body):
        if number == 1 and delay:
            await asyncio.sleep(delay)
        await response.write(chunk)
    await response.write_eof()
    return response


async def _send_truncated(
    request: web.Request, reply: Reply, plan: FaultPlan, key: str
) -> web.StreamResponse:
    """Send part of the body, then close the connection.

    Two ways, picked per request: framed (Content-Length or chunked encoding, so the client's
    HTTP layer sees the body end early) or unframed (no length, ``Connection: close``: the
    body simply stops, mid-JSON or mid-row, and only the client's parser or its record count
    can tell)."""
    transport = request.transport
    if transport is None:  # the client is gone already
        return web.Response(status=499)
    if isinstance(reply.body, bytes):
        chunks: Iterable[bytes] = (reply.body,)
        total = len(reply.body)
    else:
        chunks = reply.body
        total = reply.size_hint or 65536
    budget = max(1, int(total * plan.truncate_fraction(key)))
    framed = unit_interval(plan.spec.seed, "framed", key) < 0.5
    if framed:
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        response.content_type = reply.content_type
        if isinstance(reply.body, bytes):
            response.content_length = total
        await response.prepare(request)
        async for part in _limited(chunks, budget):
            await response.write(part)
        transport.close()
        return response
    lines = [f"HTTP/1.1 {reply.status} OK", f"Content-Type: {_content_type_header(reply)}"]
    lines += [f"{name}: {value}" for name, value in reply.headers.items()]
    lines.append("Connection: close")
    transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    async for part in _limited(chunks, budget):
        transport.write(part)
    transport.close()
    # aiohttp finds the transport closed and writes nothing of this response.
    return web.Response(status=reply.status)


async def _limited(chunks: Iterable[bytes], budget: int) -> AsyncIterator[bytes]:
    """At most the first ``budget`` bytes of ``chunks``, and never all of them: a stream
    shorter than its size hint still loses the back half of its last chunk."""
    iterator = iter(chunks)
    pending = next(iterator, None)
    while pending is not None and budget > 0:
        following = next(iterator, None)
        if following is None:
            budget = min(budget, len(pending) // 2)
        part = pending[:budget]
        budget -= len(part)
        if part:
            yield part
        pending = following
        await asyncio.sleep(0)
