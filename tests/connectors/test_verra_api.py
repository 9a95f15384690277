"""Verra's search API: respx-mocked pages built from the real export's rows, and faults."""

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
    Page,
    RetriableSourceError,
)
from metaregistry.index import store
from metaregistry.pipeline import prepare_page
from metaregistry_connectors.verra import connector
from metaregistry_connectors.verra.search import DEFAULT_FILTER, VerraSearchStream

pytestmark = pytest.mark.realdata

BASE = "https://verra.test"
URL = BASE + "/uiapi/asset/asset/search"
OBSERVED = "2026-05-01T00:00:00.000000Z"
TRANSACTIONS = "carbonplan-offsetsdb/verra/transactions.csv"


def _day_first(iso: str) -> str | None:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}" if iso else None


def api_record(row: dict[str, str]) -> dict[str, Any]:
    """One export row as the search API serves it: camelCase, day-first dates, null for
    blanks, the project id as a number, quantities with thousands separators."""
    return {
        "issuanceDate": _day_first(row["Issuance Date"]),
        "instrumentType": "VCU",
        "vintageStart": _day_first(row["Vintage Start"]),
        "vintageEnd": _day_first(row["Vintage End"]),
        "resourceIdentifier": int(row["ID"]),
        "resourceName": row["Name"],
        "country": row["Country/Area"],
        "protocolCategory": row["Project Type"],
        "protocol": row["Methodology"],
        "totalVintageQuantity": row["Total Vintage Quantity"],
        "quantity": row["Quantity Issued"],
        "serialNumbers": row["Serial Number"],
        "additionalCertifications": row["Additional Certifications"] or None,
        "retiredCancelled": bool(row["Retirement/Cancellation Date"]),
        "retireOrCancelDate": _day_first(row["Retirement/Cancellation Date"]),
        "retirementBeneficiary": row["Retirement Beneficiary"] or None,
        "retirementReason": row["Retirement Reason"] or None,
        "retirementDetails": row["Retirement Details"] or None,
    }


@pytest.fixture(scope="module")
def export_rows(real_data: Path) -> list[dict[str, str]]:
    with (real_data / TRANSACTIONS).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class SearchServer:
    """A search endpoint over fixed records. ``faults`` maps a call number (0-based) to a
    response maker that replaces the normal answer for that call."""

    def __init__(self, records: list[dict[str, Any]], *, cap: int | None = None) -> None:
        self.records = records
        self.cap = cap
        self.count_total = True
        self.ignore_skip = False
        self.serve_skip: dict[int, int] = {}  # asked offset -> offset actually served
        self.faults: dict[int, Callable[[], httpx.Response]] = {}
        self.calls: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == DEFAULT_FILTER
        assert "Mozilla" in request.headers["User-Agent"]
        skip = int(request.url.params["$skip"])
        top = int(request.url.params["$top"])
        call = len(self.calls)
        self.calls.append(skip)
        if call in self.faults:
            return self.faults[call]()
        start = 0 if self.ignore_skip else self.serve_skip.get(skip, skip)
        size = min(top, self.cap) if self.cap else top
        body: dict[str, Any] = {"value": self.records[start : start + size]}
        if self.count_total:
            body["totalCount"] = len(self.records)
        return httpx.Response(200, json=body)


def stream_of(page_size: int = 64) -> VerraSearchStream:
    (stream,) = connector.streams(
        ConnectorConfig(name="verra", base_url=BASE, options={"page_size": page_size})
    )
    assert isinstance(stream, VerraSearchStream)
    return stream


def records_of(pages: list[Page]) -> list[Any]:
    return [record for page in pages for record in page.records]


@respx.mock
def test_api_pages_hash_like_the_export_file(
    real_data: Path, export_rows: list[dict[str, str]]
) -> None:
    server = SearchServer([api_record(r) for r in export_rows])
    respx.post(URL).mock(side_effect=server)
    pages, waits = drive(stream_of(64))
    assert server.calls == [0, 64, 128, 192]  # stops at totalCount, no extra request
    assert waits == []
    assert pages[-1].totals == {"records": 200}
    api_page = prepare_page(connector, records_of(pages), OBSERVED)
    file_page = prepare_page(connector, connector.read_file(real_data / TRANSACTIONS), OBSERVED)
    assert api_page.quarantined == [] and file_page.quarantined == []
    api_hashes = {b.record_id: b.record_hash for b in api_page.blocks}
    file_hashes = {b.record_id: b.record_hash for b in file_page.blocks}
    assert len(api_hashes) == 200
    assert api_hashes == file_hashes  # same facts, same hash, whichever path


@respx.mock
def test_the_2026_state_code_gives_a_different_but_truer_record(
    export_rows: list[dict[str, str]],
) -> None:
    row = next(r for r in export_rows if r["Retirement Beneficiary"])
    old, new = api_record(row), {**api_record(row), "stateCode": "RETIRED"}
    respx.post(URL).mock(
        side_effect=[
            httpx.Response(200, json={"totalCount": 1, "value": [old]}),
            httpx.Response(200, json={"totalCount": 1, "value": [new]}),
        ]
    )
    (before,) = records_of(drive(stream_of())[0])
    (after,) = records_of(drive(stream_of())[0])
    page = prepare_page(connector, [before, after], OBSERVED)
    first, second = page.blocks
    assert first.record_id == second.record_id
    assert first.record_hash != second.record_hash
    assert (first.status, second.status) == ("retired", "retired")
    assert first.status_reason is not None and second.status_reason is not None
    assert second.status_reason in first.status_reason  # only the "cannot tell" part went


@respx.mock
def test_429_with_retry_after_then_the_page(export_rows: list[dict[str, str]]) -> None:
    server = SearchServer([api_record(r) for r in export_rows[:10]])
    server.faults[0] = lambda: httpx.Response(429, headers={"Retry-After": "7"}, text="slow down")
    respx.post(URL).mock(side_effect=server)
    pages, waits = drive(stream_of())
    assert waits == [7.0]
    assert len(records_of(pages)) == 10


@respx.mock
def test_server_errors_are_retried(export_rows: list[dict[str, str]]) -> None:
    server = SearchServer([api_record(r) for r in export_rows[:100]])
    server.faults[1] = lambda: httpx.Response(503, text="upstream unavailable")
    server.faults[2] = lambda: httpx.Response(500)
    respx.post(URL).mock(side_effect=server)
    pages, waits = drive(stream_of(64))
    assert waits == [0.0, 0.0]
    assert server.calls == [0, 64, 64, 64]
    assert len(records_of(pages)) == 100


@respx.mock
def test_a_body_cut_off_mid_json_is_fetched_again(export_rows: list[dict[str, str]]) -> None:
    records = [api_record(r) for r in export_rows[:20]]
    whole = json.dumps({"totalCount": 20, "value": records}).encode()
    server = SearchServer(records)
    server.faults[0] = lambda: httpx.Response(200, content=whole[: len(whole) // 2])
    respx.post(URL).mock(side_effect=server)
    stream = stream_of()
    request = stream.first_request(None)
    assert request is not None
    with pytest.raises(RetriableSourceError, match="not complete JSON"):
        stream.parse_page(
            httpx.post(URL, json=DEFAULT_FILTER, params=request.params, headers=request.headers),
            request,
        )
    pages, _ = drive(stream_of())
    assert len(records_of(pages)) == 20


@respx.mock
def test_an_html_page_is_a_broken_contract() -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            200,
            text="<!doctype html><html><div id=root></div></html>",
            headers={"content-type": "text/html"},
        )
    )
    with pytest.raises(FatalSourceError, match="HTML, not JSON"):
        drive(stream_of())


@respx.mock
def test_a_short_page_skips_nothing(export_rows: list[dict[str, str]]) -> None:
    # The server silently serves 50 rows when asked for 64: offsets follow what came.
    server = SearchServer([api_record(r) for r in export_rows], cap=50)
    respx.post(URL).mock(side_effect=server)
    pages, _ = drive(stream_of(64))
    assert server.calls == [0, 50, 100, 150]
    assert len({r.payload["serialNumbers"] for r in records_of(pages)}) == 200


@respx.mock
def test_an_empty_page_ends_a_stream_without_a_count(export_rows: list[dict[str, str]]) -> None:
    server = SearchServer([api_record(r) for r in export_rows[:128]])
    server.count_total = False
    respx.post(URL).mock(side_effect=server)
    pages, _ = drive(stream_of(64))
    assert server.calls == [0, 64, 128]
    assert [len(p.records) for p in pages] == [64, 64, 0]
    assert pages[-1].next_request is None
    assert pages[-1].totals is None


@respx.mock
def test_an_empty_registry_is_one_empty_page() -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, json={"totalCount": 0, "value": []}))
    pages, _ = drive(stream_of())
    assert [(len(p.records), p.totals) for p in pages] == [(0, {"records": 0})]


@respx.mock
def test_a_repeated_page_is_absorbed_not_fatal(export_rows: list[dict[str, str]]) -> None:
    server = SearchServer([api_record(r) for r in export_rows])
    server.serve_skip[128] = 64  # the page at 128 repeats the page at 64, once
    respx.post(URL).mock(side_effect=server)
    pages, _ = drive(stream_of(64))
    assert server.calls == [0, 64, 128, 192]
    assert [len(p.records) for p in pages] == [64, 64, 0, 8]  # the repeat is left out
    serials = [r.payload["serialNumbers"] for r in records_of(pages)]
    assert len(serials) == len(set(serials)) == 136
    assert pages[-1].totals == {"records": 200}  # 136 seen: the engine reports the gap


@respx.mock
def test_a_changed_record_in_a_repeated_page_is_kept(export_rows: list[dict[str, str]]) -> None:
    records = [api_record(r) for r in export_rows[:128]]
    changed = [dict(r) for r in records[:64]]
    changed[3]["retirementDetails"] = "amended"
    respx.post(URL).mock(
        side_effect=[
            httpx.Response(200, json={"totalCount": 192, "value": records[:64]}),
            httpx.Response(200, json={"totalCount": 192, "value": changed + records[64:128]}),
        ]
    )
    pages, _ = drive(stream_of(64))
    assert [len(p.records) for p in pages] == [64, 65]
    assert pages[1].records[0].payload["retirementDetails"] == "amended"


@respx.mock
def test_a_source_that_ignores_the_offset_is_stopped(export_rows: list[dict[str, str]]) -> None:
    server = SearchServer([api_record(r) for r in export_rows] * 50)
    server.ignore_skip = True
    respx.post(URL).mock(side_effect=server)
    with pytest.raises(FatalSourceError, match="ignores the paging parameters"):
        drive(stream_of(64))
    assert server.calls == [0, 64, 128]


def test_resuming_and_starting_over() -> None:
    stream = stream_of(64)
    resumed = stream.first_request({"skip": 128})
    assert resumed is not None and resumed.params["$skip"] == 128
    fresh = stream.first_request({"skip": 200, "_complete": True})
    assert fresh is not None and fresh.params["$skip"] == 0
    assert fresh.url == URL and fresh.method == "POST" and fresh.json == DEFAULT_FILTER


def test_page_size_is_bounded() -> None:
    with pytest.raises(FatalSourceError, match="page_size"):
        connector.streams(ConnectorConfig(name="verra", options={"page_size": 5000}))
    (default,) = connector.streams(ConnectorConfig(name="verra"))
    request = default.first_request(None)
    assert request is not None
    assert request.url == "https://registry.verra.org/uiapi/asset/asset/search"
    assert request.params["$top"] == 2000


@respx.mock
def test_sync_engine_end_to_end(
    real_data: Path, export_rows: list[dict[str, str]], engine: sa.Engine
) -> None:
    from metaregistry.retry import RetryPolicy
    from metaregistry.sync import sync_connector

    records = [api_record(r) for r in export_rows]
    records[5] = {**records[5], "accountEmail": "holder@example.org"}
    whole = json.dumps({"totalCount": 200, "value": records[64:128]}).encode()
    server = SearchServer(records)
    server.faults[0] = lambda: httpx.Response(429, headers={"Retry-After": "0"})
    server.faults[2] = lambda: httpx.Response(503)
    server.faults[3] = lambda: httpx.Response(200, content=whole[:1000])
    respx.post(URL).mock(side_effect=server)
    config = ConnectorConfig(name="verra", base_url=BASE, options={"page_size": 64})
    policy = RetryPolicy(base=0.001, cap=0.01)
    report = asyncio.run(sync_connector(engine, connector, config, policy=policy))
    assert (report.outcome, report.error) == ("ok", None)
    assert (report.seen, report.written, report.quarantined) == (200, 200, 0)
    assert report.totals == {"search": {"records": 200}} and report.drift == []
    file_page = prepare_page(connector, connector.read_file(real_data / TRANSACTIONS), OBSERVED)
    with engine.connect() as conn:
        stored = {b.record_id: b.record_hash for b in store.blocks(conn)}
        raw = " ".join(r[0] for r in conn.execute(sa.text("SELECT payload FROM raw_record")))
    assert stored == {b.record_id: b.record_hash for b in file_page.blocks}
    assert "holder@example.org" not in raw and "accountEmail" not in raw
    again = asyncio.run(sync_connector(engine, connector, config, policy=policy))
    assert (again.outcome, again.seen, again.written, again.withdrawn) == ("ok", 200, 0, 0)
