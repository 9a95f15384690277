"""The alert feed over real HTTP: listing and paging, pull, SSE resume, Atom, bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from xml.etree import ElementTree as ET

import anyio
import httpx
import pytest
import sqlalchemy as sa
from aiohttp import web

from metaregistry.api.gate import errors_middleware
from metaregistry.api.keys import ENGINE_KEY, SETTINGS_KEY
from metaregistry.feed.routes import add_routes
from metaregistry.feed.testing import AlertWriter
from metaregistry.index.db import create_engine
from metaregistry.settings import settings_from

pytestmark = pytest.mark.anyio
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def feed_engine(engine: sa.Engine) -> sa.Engine:
    """The migrated ``engine`` (detection's alert tables and the feed's included)."""
    return engine


@pytest.fixture
def alerts(feed_engine: sa.Engine) -> AlertWriter:
    return AlertWriter(feed_engine)


@pytest.fixture
def readonly(feed_engine: sa.Engine) -> Iterator[sa.Engine]:
    ro = create_engine(feed_engine.url.render_as_string(hide_password=False), readonly=True)
    yield ro
    ro.dispose()


class Server:
    def __init__(self, runner: web.AppRunner, base: str) -> None:
        self.runner = runner
        self.base = base
        self.client = httpx.AsyncClient(base_url=base, timeout=30)


@pytest.fixture
async def server(readonly: sa.Engine, free_port: int) -> AsyncIterator[Server]:
    app = web.Application(middlewares=[errors_middleware])
    app[ENGINE_KEY] = readonly
    app[SETTINGS_KEY] = settings_from({"feed": {"stream_poll": 0.05, "stream_heartbeat": 0.2}})
    add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", free_port).start()
    served = Server(runner, f"http://127.0.0.1:{free_port}")
    yield served
    await served.client.aclose()
    await runner.cleanup()


async def get_json(server: Server, path: str, **params: Any) -> Any:
    response = await server.client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_listing_walks_every_alert_once_newest_first(
    server: Server, alerts: AlertWriter
) -> None:
    for n in range(11):
        alerts.open(f"al_{n:02d}", kind="double_use" if n % 2 else "double_issuance")
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 4}
    while True:
        page = await get_json(server, "/v1/alerts", **params)
        seen.extend(a["id"] for a in page["alerts"])
        alerts.change(page["alerts"][0]["id"], "acknowledged")  # must not disturb paging
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [f"al_{n:02d}" for n in reversed(range(11))]
    uses = await get_json(server, "/v1/alerts", kind="double_use,internal_overlap")
    assert {a["id"] for a in uses["alerts"]} == {f"al_{n:02d}" for n in range(1, 11, 2)}
    first = uses["alerts"][0]
    assert first["sides"][0]["registry"] == "verra"  # JSON columns come decoded
    assert first["opened_at"].endswith("Z")
    by_registry = await get_json(server, "/v1/alerts", registry="gold-standard", status="open")
    assert all(a["status"] == "open" for a in by_registry["alerts"])


async def test_one_alert_comes_with_its_history_and_unknown_ones_are_404(
    server: Server, alerts: AlertWriter
) -> None:
    alerts.open("al_1")
    alerts.change("al_1", "resolved")
    body = await get_json(server, "/v1/alerts/al_1")
    assert body["status"] == "resolved"
    assert [e["type"] for e in body["events"]] == ["opened", "resolved"]
    missing = await server.client.get("/v1/alerts/al_nope")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


async def test_pulling_events_by_cursor_never_repeats_or_skips(
    server: Server, alerts: AlertWriter
) -> None:
    written = [alerts.open(f"al_{n}") for n in range(5)]
    got: list[int] = []
    since = 0
    while True:
        page = await get_json(server, "/v1/alerts/events", since=since, limit=2)
        if not page["events"]:
            break
        got.extend(e["id"] for e in page["events"])
        since = page["next_since"]
        if len(got) <= 6:  # events written between pages must show up on later pages
            written.append(alerts.change(f"al_{len(got) % 5}", "acknowledged"))
    assert got == written
    event = (await get_json(server, "/v1/alerts/events", since=written[0] - 1, limit=1))["events"][
        0
    ]
    assert event["type"] == "opened" and event["alert"]["id"] == "al_0"


@pytest.mark.parametrize(
    ("path", "params", "field", "value"),
    [
        ("/v1/alerts", {"kind": "double_trouble"}, "kind", "double_trouble"),
        ("/v1/alerts", {"status": "open,closed"}, "status", "closed"),
        ("/v1/alerts", {"registry": "Not A Slug"}, "registry", "Not A Slug"),
        ("/v1/alerts", {"limit": "0"}, "limit", "0"),
        ("/v1/alerts", {"limit": "²"}, "limit", "²"),
        ("/v1/alerts", {"cursor": "bm9wZQ"}, "cursor", "bm9wZQ"),
        ("/v1/alerts/events", {"since": "-1"}, "since", "-1"),
        ("/v1/alerts/events", {"since": "9999999999999999999"}, "since", "9999999999999999999"),
        ("/v1/alerts/feed.atom", {"severity": "extreme"}, "severity", "extreme"),
        ("/v1/alerts/stream", {"since": "x"}, "since", "x"),
    ],
)
async def test_a_bad_parameter_is_a_400_naming_it_and_its_value(
    server: Server, path: str, params: dict[str, str], field: str, value: str
) -> None:
    response = await server.client.get(path, params=params)
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["field"], body["value"]) == ("invalid_parameter", field, value)


async def sse_messages(
    server: Server, headers: dict[str, str], want: int, *, params: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Read ``want`` messages (not comments) from the stream, then hang up."""
    messages: list[dict[str, str]] = []
    current: dict[str, str] = {}
    with anyio.fail_after(30):  # a guard against a hang, not a speed requirement
        async with server.client.stream(
            "GET", "/v1/alerts/stream", headers=headers, params=params
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line == "":
                    if "data" in current:
                        messages.append(current)
                        if len(messages) == want:
                            return messages
                    current = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(": ")
                    current[key] = value
    return messages


async def test_sse_resumes_after_last_event_id_with_exactly_the_events_after_it(
    server: Server, alerts: AlertWriter
) -> None:
    ids = [alerts.open(f"al_{n}") for n in range(5)]
    first = await sse_messages(server, {"Last-Event-ID": str(ids[1])}, want=3)
    assert [int(m["id"]) for m in first] == ids[2:]
    assert [json.loads(m["data"])["id"] for m in first] == ids[2:]
    assert first[0]["event"] == "opened"

    # A reconnect with the last id it saw, while new events arrive meanwhile.
    newer = [alerts.change("al_0", "acknowledged"), alerts.change("al_1", "resolved")]
    again = await sse_messages(server, {"Last-Event-ID": first[-1]["id"]}, want=2)
    assert [int(m["id"]) for m in again] == newer
    assert [m["event"] for m in again] == ["acknowledged", "resolved"]


async def test_sse_without_a_resume_point_sends_only_new_events(
    server: Server, alerts: AlertWriter
) -> None:
    alerts.open("al_old")

    async def write_later() -> None:
        await anyio.sleep(0.3)
        alerts.open("al_new", kind="double_issuance")

    async with anyio.create_task_group() as group:
        group.start_soon(write_later)
        (message,) = await sse_messages(server, {}, want=1, params={"kind": "double_issuance"})
    assert json.loads(message["data"])["alert_id"] == "al_new"


async def test_open_streams_end_cleanly_when_the_server_shuts_down(
    server: Server, alerts: AlertWriter
) -> None:
    alerts.open("al_1")
    lines: list[str] = []

    async def shut_down_once_streaming() -> None:
        while not any(line.startswith("data:") for line in lines):
            await anyio.sleep(0.02)
        await server.runner.cleanup()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(shut_down_once_streaming)
            async with server.client.stream(
                "GET", "/v1/alerts/stream", params={"since": "0"}
            ) as response:
                # Ends without an error: the server completed the chunked response.
                async for line in response.aiter_lines():
                    lines.append(line)
    assert any(line.startswith("id: ") for line in lines)


async def test_the_atom_feed_lists_the_newest_events(server: Server, alerts: AlertWriter) -> None:
    alerts.open("al_1", registries=("verra", "tccr"))
    alerts.open("al_2", kind="double_issuance")
    resolved = alerts.change("al_1", "resolved")
    response = await server.client.get("/v1/alerts/feed.atom", params={"limit": "2"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"urn:metaregistry:alerts:event:{resolved}",
        f"urn:metaregistry:alerts:event:{resolved - 1}",
    ]
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and link.get("href") == f"{server.base}/v1/alerts/al_1"
    assert entries[0].findtext(f"{ATOM}title") == "Double use resolved: tccr / verra"
    assert feed.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")
    again = await server.client.get(
        "/v1/alerts/feed.atom",
        params={"limit": "2"},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304
    alerts.open("al_3")
    changed = await server.client.get(
        "/v1/alerts/feed.atom",
        params={"limit": "2"},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert changed.status_code == 200


async def test_the_api_app_serves_the_feed(
    readonly: sa.Engine, alerts: AlertWriter, free_port: int
) -> None:
    from metaregistry.api.app import create_app

    opened = alerts.open("al_1")
    app = create_app(settings_from({}), engine=readonly)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", free_port).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port}") as client:
            listed = (await client.get("/v1/alerts")).json()
            assert [a["id"] for a in listed["alerts"]] == ["al_1"]
            pulled = (await client.get("/v1/alerts/events")).json()
            assert [e["id"] for e in pulled["events"]] == [opened]
            bad = await client.get("/v1/alerts", params={"severity": "dire"})
            assert (bad.status_code, bad.json()["field"]) == (400, "severity")
            assert (await client.get("/v1/alerts/al_1")).json()["id"] == "al_1"
    finally:
        await runner.cleanup()


async def test_the_atom_feed_links_through_the_public_url(
    readonly: sa.Engine, free_port: int, alerts: AlertWriter
) -> None:
    """``[api] public_url`` (typed, checked at load) is the origin of the feed's links."""
    alerts.open("al_1")
    app = web.Application(middlewares=[errors_middleware])
    app[ENGINE_KEY] = readonly
    app[SETTINGS_KEY] = settings_from({"api": {"public_url": "https://registry.example.org/"}})
    add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", free_port).start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port}") as client:
            response = await client.get("/v1/alerts/feed.atom")
    finally:
        await runner.cleanup()
    link = ET.fromstring(response.content).find(f"{ATOM}entry/{ATOM}link")
    assert link is not None and link.get("href") == "https://registry.example.org/v1/alerts/al_1"
