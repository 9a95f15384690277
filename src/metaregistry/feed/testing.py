"""Test doubles for the feed: a webhook receiver that checks signatures, and a writer of
alerts and alert events for fixtures and demos.

:class:`WebhookReceiver` is a real aiohttp server on a free local port. It answers each
delivery with the next scripted status (``fail_next``) or 204, and keeps every request whose
signature verified (``deliveries``) and every one that did not (``rejected``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from metaregistry.detect import lifecycle
from metaregistry.detect.events import PendingEvent, alert_document, append_events
from metaregistry.feed import alert_tables
from metaregistry.feed.signature import SIGNATURE_HEADER, SignatureError, verify_signature

__all__ = ["AlertWriter", "Delivery", "ManualClock", "WebhookReceiver"]


class ManualClock:
    """A clock moved by hand, for the outbox's ``utcnow``: retries and leases come due
    without sleeping (``monkeypatch.setattr(outbox, "utcnow", lambda: clock.now)``)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request the receiver accepted: the parsed CloudEvent and the raw exchange."""

    event: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    status: int


@dataclass
class WebhookReceiver:
    secret: str
    deliveries: list[Delivery] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    attempts: int = 0
    _script: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    url: str = ""

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (they are not deliveries)."""
        self._script.extend([status] * count)

    async def _handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.read()
        try:
            verify_signature(self.secret, request.headers.get(SIGNATURE_HEADER), body)
        except SignatureError as exc:
            self.rejected.append(str(exc))
            return web.Response(status=401, text=str(exc))
        status = self._script.pop(0) if self._script else 204
        if 200 <= status < 300:
            self.deliveries.append(Delivery(json.loads(body), body, dict(request.headers), status))
        return web.Response(status=status)

    def event_ids(self) -> list[int]:
        return [int(d.event["id"]) for d in self.deliveries]

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = int(self._runner.addresses[0][1])
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WebhookReceiver:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class AlertWriter:
    """Opens alerts straight in detection's tables and changes them with detection's own
    lifecycle functions, for tests and demos of the feed. Events are written (and logged)
    by :func:`metaregistry.detect.events.append_events`, exactly as detection writes them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)

    def _tick(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    def open(
        self,
        alert_id: str,
        *,
        kind: str = "double_use",
        severity: str = "high",
        registries: tuple[str, str] = ("verra", "gold-standard"),
    ) -> int:
        """A new open alert and its ``opened`` event; the event's id."""
        with self.engine.begin() as conn:
            return self.open_in(conn, alert_id, kind=kind, severity=severity, registries=registries)

    def open_in(
        self,
        conn: sa.Connection,
        alert_id: str,
        *,
        kind: str = "double_use",
        severity: str = "high",
        registries: tuple[str, str] = ("verra", "gold-standard"),
    ) -> int:
        """:meth:`open` in the caller's transaction (left uncommitted)."""
        at = self._tick()
        sides = [
            {
                "registry": registry,
                "record_id": f"{alert_id}-{role}",
                "serial": f"S-{alert_id}",
                "block_start": 100,
                "block_end": 199,
                "status": "retired",
                "role": role,
            }
            for registry, role in zip(registries, ("a", "b"), strict=True)
        ]
        row: dict[str, Any] = {
            "id": alert_id,
            "kind": kind,
            "severity": severity,
            "status": "open",
            "scheme": "vcs",
            "scope": "",
            "registry_a": registries[0],
            "registry_b": registries[1],
            "overlap_start": 100,
            "overlap_end": 199,
            "overlap_size": 100,
            "explanation": f"{kind} between {registries[0]} and {registries[1]}",
            "sides": json.dumps(sides),
            "detail": json.dumps({"ranges": [[100, 199]], "rules": [], "excess": []}),
            "content_hash": "0" * 64,
            "opened_at": at,
            "updated_at": at,
            "resolved_at": None,
            "resolution": None,
            "last_event_id": 0,
        }
        alerts = alert_tables.alert_table()
        conn.execute(alerts.insert().values(**row))
        (event_id,) = append_events(
            conn, [PendingEvent(alert_id, "opened", at, alert_document(row))]
        )
        conn.execute(alerts.update().where(alerts.c.id == alert_id).values(last_event_id=event_id))
        return event_id

    def document(self, alert_id: str) -> dict[str, Any]:
        """The alert's public JSON as it is now."""
        alerts = alert_tables.alert_table()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).mappings().one()
        return alert_document(row)

    def change(self, alert_id: str, status: str) -> int:
        """Acknowledge or resolve an alert by hand; the id of its event. Raises ValueError
        when the alert already has that status (no event is written then)."""
        changes = {"acknowledged": lifecycle.acknowledge, "resolved": lifecycle.resolve}
        with self.engine.begin() as conn:
            if changes[status](conn, alert_id, now=self._tick()) is None:
                raise ValueError(f"alert {alert_id} is already {status}")
            events = alert_tables.event_table()
            newest = sa.select(sa.func.max(events.c.id)).where(events.c.alert_id == alert_id)
            return int(conn.execute(newest).scalar_one())
