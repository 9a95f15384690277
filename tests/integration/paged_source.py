"""A small paged HTTP source and its connector, for testing the sync engine itself.

Run as a script it is a sync worker: ``python paged_source.py DB_URL BASE_URL OWNER``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import httpx
from aiohttp import web

from metaregistry.connector import (
    Connector,
    ConnectorConfig,
    HttpStream,
    Page,
    RawRecord,
    RequestSpec,
    RetriableSourceError,
)
from metaregistry.model import UnitBlock


class PagedStream(HttpStream):
    name: ClassVar[str] = "records"

    def __init__(self, base_url: str, owner: str, name: str = "records") -> None:
        self.base_url = base_url.rstrip("/")
        self.owner = owner
        self.name = name  # type: ignore[misc]  # a second stream over the same records

    def _request(self, page: int) -> RequestSpec:
        return RequestSpec(
            "GET",
            f"{self.base_url}/records",
            params={"page": page},
            headers={"X-Owner": self.owner, "X-Stream": self.name},
            token=f"page-{page}",
        )

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        if cursor is None or cursor.get("_complete"):
            return self._request(1)
        return self._request(int(cursor["page"]) + 1)

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        try:
            body = response.json()
        except ValueError as exc:
            raise RetriableSourceError(f"body is not JSON: {exc}") from exc
        page = int(request.params["page"])
        records = [
            RawRecord(r, f"page {page}:{i}", self.name) for i, r in enumerate(body["records"])
        ]
        nxt = self._request(page + 1) if body["more"] else None
        return Page(
            records=records,
            cursor={"page": page},
            next_request=nxt,
            totals={"records": body["total"]},
        )


class PagedConnector(Connector):
    name: ClassVar[str] = "paged"
    registries: ClassVar[tuple[str, ...]] = ("paged",)

    def __init__(self, owner: str = "test", streams: int = 1) -> None:
        self.owner = owner
        self.n_streams = streams  # more than one: "records", "again", ... (the same records)

    def streams(self, config: ConnectorConfig) -> list[HttpStream]:
        names = ["records", "again", "third"][: self.n_streams]
        return [PagedStream(config.base_url or "", self.owner, name) for name in names]

    def normalize(self, record: RawRecord) -> UnitBlock:
        p = record.payload
        return UnitBlock(
            registry=self.name,
            record_id=str(p["id"]),
            serial=f"P-{p['start']}-{p['end']}",
            scheme="test",
            scope="",
            block_start=int(p["start"]),
            block_end=int(p["end"]),
            quantity=int(p["end"]) - int(p["start"]) + 1,
            status=str(p.get("status", "issued")),
        )


class PagedSource:
    """The server side: ``records`` ids 0..n-1, ``page_size`` a page, optional delay and
    hang; remembers which owner fetched which page. ``overlaps``: that many more records
    (``d0``, ``d1``, ...) at the end, each over the units of ``r0``, ``r1``, ...: an internal
    overlap detection reports."""

    def __init__(self, n: int, page_size: int = 10, delay: float = 0.0, overlaps: int = 0) -> None:
        self.n = n
        self.overlaps = overlaps
        self.page_size = page_size
        self.delay = delay
        self.hang_from_page: int | None = None
        self.missing: set[int] = set()
        self.fetches: list[tuple[str, int]] = []
        self.stream_fetches: list[tuple[str, str, int]] = []  # (owner, stream, page)
        self.hang_stream: str | None = None  # hang_from_page in that stream only
        self.fail_first: int = 0
        self.shift = 0  # added to every record's units: a changed source
        self.url = ""

    def records(self) -> list[dict[str, Any]]:
        at = self.shift
        return [
            {"id": f"r{i}", "start": at + i * 100, "end": at + i * 100 + 99}
            for i in range(self.n)
            if i not in self.missing
        ] + [
            {"id": f"d{i}", "start": at + i * 100, "end": at + i * 100 + 99}
            for i in range(self.overlaps)
        ]

    async def handle(self, request: web.Request) -> web.Response:
        page = int(request.query["page"])
        self.fetches.append((request.headers.get("X-Owner", "?"), page))
        self.stream_fetches.append(
            (request.headers.get("X-Owner", "?"), request.headers.get("X-Stream", "?"), page)
        )
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=503, headers={"Retry-After": "0"})
        hangs = self.hang_stream in (None, request.headers.get("X-Stream"))
        if self.hang_from_page is not None and page >= self.hang_from_page and hangs:
            await asyncio.sleep(3600)
        if self.delay:
            await asyncio.sleep(self.delay)
        rows = self.records()
        chunk = rows[(page - 1) * self.page_size : page * self.page_size]
        more = page * self.page_size < len(rows)
        return web.json_response({"records": chunk, "more": more, "total": len(rows)})


@contextmanager
def serve(source: PagedSource) -> Iterator[PagedSource]:
    """Run the source on a real port in a background thread."""
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    state: dict[str, Any] = {}

    async def start() -> None:
        app = web.Application()
        app.router.add_get("/records", source.handle)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        source.url = f"http://127.0.0.1:{port}"
        state["runner"] = runner
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield source
    finally:

        async def stop() -> None:
            await state["runner"].cleanup()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _worker(db_url: str, base_url: str, owner: str, streams: str = "1") -> int:
    """``owner`` "-": this process's own (host:pid:start), as ``metaregistry sync`` writes."""
    from metaregistry.index.db import create_engine
    from metaregistry.sync import default_owner, sync_connector

    engine = create_engine(db_url)
    owner = default_owner() if owner == "-" else owner
    report = asyncio.run(
        sync_connector(
            engine,
            PagedConnector(owner, int(streams)),
            ConnectorConfig("paged", base_url=base_url),
            owner=owner,
        )
    )
    print(f"{report.outcome} pages={report.pages} seen={report.seen}", flush=True)
    return 0 if report.outcome == "ok" else 3


if __name__ == "__main__":
    sys.exit(_worker(*sys.argv[1:5]))
