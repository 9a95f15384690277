"""Gold Standard's credits API: respx-mocked pages built from the real exports, and faults."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa
from stream_engine import drive

from metaregistry.connector import (
    ConnectorConfig,
    FatalSourceError,
    HttpStream,
    Page,
    RawRecord,
)
from metaregistry.index import store
from metaregistry.pipeline import prepare_page
from metaregistry_connectors.gold_standard import connector

pytestmark = pytest.mark.realdata

BASE = "https://gs.test"
URL = BASE + "/credits"
OBSERVED = "2026-05-01T00:00:00.000000Z"
ISSUANCES = "carbonplan-offsetsdb/gold-standard/issuances.csv"
RETIREMENTS = "carbonplan-offsetsdb/gold-standard/retirements.csv"


def api_credit(row: dict[str, str], ident: int) -> dict[str, Any]:
    """One export row as ``GET /credits`` serves it (field names as seen in the wild)."""
    record: dict[str, Any] = {
        "id": ident,
        "serial_number": row["Serial Number"],
        "number_of_credits": int(row["Quantity"]),
        "vintage": row["Vintage"],
        "status": row["Credit Status"].upper(),
        "certified_date": row["Issuance Date"],
        "monitoring_period_start_date": row["Monitoring Period Start"],
        "monitoring_period_end_date": row["Monitoring Period End"],
        "product": {"name": "Verified Emission Reduction", "abbreviation": row["Product Type"]},
        "labels": [label.strip() for label in row["Label"].split(",") if label.strip()],
        "project": {
            "sustaincert_id": int(row["GSID"]),
            "name": row["Project Name"],
            "type": row["Project Type"],
            "methodology": row["Methodology"] or None,
        },
    }
    if "Retirement Date" in row:
        record["retirement_date"] = row["Retirement Date"] or None
        record["retirement_use_case"] = row["Use Case"] or None
        record["using_entity"] = row["Using Entity"] or None
        record["note"] = row["Note"] or None
    return record


def export(real_data: Path, name: str) -> list[dict[str, str]]:
    with (real_data / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class CreditsServer:
    """``GET /credits`` over fixed blocks, newest (highest id) first, 1-based pages."""

    def __init__(self, issued: list[dict[str, Any]], retired: list[dict[str, Any]]) -> None:
        self.lists = {
            "true": sorted(issued, key=lambda r: -r["id"]),
            "false": sorted(retired, key=lambda r: -r["id"]),
        }
        self.faults: dict[int, Callable[[], httpx.Response]] = {}
        self.serve_page: dict[int, int] = {}
        self.cap: int | None = None
        self.ignore_page = False
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert "Mozilla" in request.headers["User-Agent"]
        params = request.url.params
        which, page, size = (
            params.get("issuances", "true"),
            int(params["page"]),
            int(params["size"]),
        )
        call = len(self.calls)
        self.calls.append((which, page, size))
        if size > 25:
            return httpx.Response(403, text="<html>Forbidden</html>")
        if call in self.faults:
            return self.faults[call]()
        served = 1 if self.ignore_page else self.serve_page.get(page, page)
        blocks = self.lists[which]
        body = blocks[(served - 1) * size : (served - 1) * size + (self.cap or size)]
        headers = {
            "X-Total-Count": str(len(blocks)),
            "X-Total-Number-Of-Credits": str(sum(b["number_of_credits"] for b in blocks)),
        }
        return httpx.Response(200, json=body, headers=headers)


def streams(**options: Any) -> dict[str, HttpStream]:
    config = ConnectorConfig(name="gold-standard", base_url=BASE, options=options)
    return {s.name: s for s in connector.streams(config)}


def records_of(pages: list[Page]) -> list[RawRecord]:
    return [record for page in pages for record in page.records]


@pytest.fixture
def server(real_data: Path) -> CreditsServer:
    issued = [api_credit(r, 1000 + i) for i, r in enumerate(export(real_data, ISSUANCES))]
    retired = [api_credit(r, 5000 + i) for i, r in enumerate(export(real_data, RETIREMENTS))]
    return CreditsServer(issued, retired)


@respx.mock
def test_both_lists_hash_like_the_export_files(server: CreditsServer, real_data: Path) -> None:
    respx.get(URL).mock(side_effect=server)
    found = streams()
    assert list(found) == ["issued", "retired"]
    issued_pages, _ = drive(found["issued"])
    retired_pages, _ = drive(found["retired"])
    assert server.calls == [("true", p, 25) for p in (1, 2, 3, 4)] + [
        ("false", p, 25) for p in (1, 2, 3, 4)
    ]
    issued_units = sum(int(r["Quantity"]) for r in export(real_data, ISSUANCES))
    assert issued_pages[-1].totals == {"records": 100, "quantity": issued_units}
    for pages, name in ((issued_pages, ISSUANCES), (retired_pages, RETIREMENTS)):
        api_page = prepare_page(connector, records_of(pages), OBSERVED)
        file_page = prepare_page(connector, connector.read_file(real_data / name), OBSERVED)
        assert api_page.quarantined == [] and file_page.quarantined == []
        api_hashes = {b.record_id: b.record_hash for b in api_page.blocks}
        assert len(api_hashes) == 100
        assert api_hashes == {b.record_id: b.record_hash for b in file_page.blocks}


@respx.mock
def test_size_is_capped_at_25(server: CreditsServer) -> None:
    respx.get(URL).mock(side_effect=server)
    pages, _ = drive(streams(size=100, streams=["issued"])["issued"])
    assert {size for _, _, size in server.calls} == {25}
    assert len(records_of(pages)) == 100


@respx.mock
def test_a_cloudflare_403_is_fatal(server: CreditsServer) -> None:
    server.faults[0] = lambda: httpx.Response(403, text="<html>Attention Required!</html>")
    respx.get(URL).mock(side_effect=server)
    with pytest.raises(FatalSourceError, match="HTTP 403"):
        drive(streams()["issued"])


@respx.mock
def test_429_and_5xx_and_a_cut_off_body_are_retried(server: CreditsServer) -> None:
    whole = json.dumps(server.lists["true"][:25]).encode()
    server.faults[0] = lambda: httpx.Response(429, headers={"Retry-After": "30"})
    server.faults[2] = lambda: httpx.Response(502, text="Bad gateway")
    server.faults[3] = lambda: httpx.Response(200, content=whole[: len(whole) - 40])
    respx.get(URL).mock(side_effect=server)
    pages, waits = drive(streams()["issued"])
    assert waits == [30.0, 0.0, 0.0]
    assert [page for _, page, _ in server.calls] == [1, 1, 2, 2, 2, 3, 4]
    assert len({r.payload["id"] for r in records_of(pages)}) == 100


@respx.mock
def test_a_short_page_does_not_end_the_stream(server: CreditsServer) -> None:
    server.cap = 20  # every page silently short; the count header says there is more
    respx.get(URL).mock(side_effect=server)
    pages, _ = drive(streams()["issued"])
    assert [page for _, page, _ in server.calls] == [1, 2, 3, 4]
    assert [len(p.records) for p in pages] == [20, 20, 20, 20]
    assert pages[-1].next_request is None


@respx.mock
def test_an_empty_page_ends_the_stream() -> None:
    respx.get(URL).mock(
        return_value=httpx.Response(
            200, json=[], headers={"X-Total-Count": "0", "X-Total-Number-Of-Credits": "0"}
        )
    )
    pages, _ = drive(streams()["retired"])
    assert [(len(p.records), p.totals) for p in pages] == [(0, {"records": 0, "quantity": 0})]


@respx.mock
def test_a_repeated_page_is_absorbed_not_fatal(server: CreditsServer) -> None:
    server.serve_page[3] = 2
    respx.get(URL).mock(side_effect=server)
    pages, _ = drive(streams()["issued"])
    ids = [r.payload["id"] for r in records_of(pages)]
    assert len(ids) == len(set(ids)) == 75  # the repeat is left out, the gap stays visible


@respx.mock
def test_a_page_served_in_front_of_the_next_is_left_out(server: CreditsServer) -> None:
    # The mock registries' repeat fault: the page before again, then the page asked for.
    issued = server.lists["true"]
    respx.get(URL).mock(
        side_effect=[
            httpx.Response(200, json=issued[:25], headers={"X-Total-Count": "50"}),
            httpx.Response(200, json=issued[:50], headers={"X-Total-Count": "50"}),
        ]
    )
    pages, _ = drive(streams()["issued"])
    assert [len(p.records) for p in pages] == [25, 25]
    assert [r.payload["id"] for r in records_of(pages)] == [r["id"] for r in issued[:50]]


@respx.mock
def test_a_source_that_ignores_the_page_is_stopped(server: CreditsServer) -> None:
    server.lists["true"] = server.lists["true"] * 40
    server.ignore_page = True
    respx.get(URL).mock(side_effect=server)
    with pytest.raises(FatalSourceError, match="ignores the paging parameters"):
        drive(streams()["issued"])
    assert [page for _, page, _ in server.calls] == [1, 2, 3]


def test_resuming_and_starting_over() -> None:
    stream = streams()["retired"]
    resumed = stream.first_request({"page": 7})
    assert resumed is not None
    assert dict(resumed.params) == {"page": 8, "size": 25, "issuances": "false"}
    fresh = stream.first_request({"page": 7, "_complete": True})
    assert fresh is not None and fresh.params["page"] == 1
    assert fresh.url == URL and "Mozilla" in fresh.headers["User-Agent"]


def test_bad_options_fail_clearly() -> None:
    with pytest.raises(FatalSourceError, match="streams"):
        streams(streams=["everything"])
    with pytest.raises(FatalSourceError, match="size"):
        streams(size="lots")


@respx.mock
def test_sync_engine_end_to_end(server: CreditsServer, engine: sa.Engine) -> None:
    from metaregistry.retry import RetryPolicy
    from metaregistry.sync import sync_connector

    server.faults[1] = lambda: httpx.Response(429, headers={"Retry-After": "0"})
    server.lists["false"][0]["note"] = "Contact: jane@example.org"
    respx.get(URL).mock(side_effect=server)
    config = ConnectorConfig(name="gold-standard", base_url=BASE)
    policy = RetryPolicy(base=0.001, cap=0.01)
    report = asyncio.run(sync_connector(engine, connector, config, policy=policy))
    assert (report.outcome, report.error, report.drift) == ("ok", None, [])
    assert (report.seen, report.written, report.quarantined) == (200, 200, 0)
    assert report.totals["issued"]["records"] == report.totals["retired"]["records"] == 100
    with engine.connect() as conn:
        assert sum(1 for _ in store.blocks(conn)) == 200
        raw = " ".join(r[0] for r in conn.execute(sa.text("SELECT payload FROM raw_record")))
    assert "jane@example.org" not in raw
