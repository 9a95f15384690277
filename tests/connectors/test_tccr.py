"""TCCR: the T-VER grammar (Buddhist-era vintages), the CSV export with ETag, the JSON API,
and Article 6 normalization (the Bangkok e-bus precedent)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from metaregistry.connector import (
    ConnectorConfig,
    FatalSourceError,
    RawRecord,
    RecordError,
    RequestSpec,
    RetriableSourceError,
)
from metaregistry.mock.world import generate_world, world_records
from metaregistry.pipeline import prepare_page
from metaregistry.serials import SerialError, parse_serial
from metaregistry.serials.national import format_tver
from metaregistry_connectors.tccr import CSV_COLUMNS, CreditsApiStream, CsvExportStream, connector


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "credit_id": "TC-000000001",
        "serial_no": "TVER-P-0412-2566-00045-1-1916",
        "credit_type": "Premium T-VER",
        "project_code": "TVER-P-0412",
        "project_name_en": "Electric Bus Fleet Bangkok 1",
        "province": "Bangkok",
        "vintage_be": 2566,
        "volume_tco2e": 1916,
        "credit_status": "Active",
        "issue_date_be": "15/03/2567",
        "status_date_be": None,
        "status_remark": None,
        "a6_authorization_no": None,
        "a6_authorized_use": None,
        "a6_itmo_id": None,
        "a6_first_transfer_date": None,
        "a6_acquiring_party": None,
        "a6_ca_status": None,
    }
    record.update(changes)
    return record


def _csv(records: list[dict[str, Any]]) -> bytes:
    """The export as the README specifies it: BOM, header in column order, CRLF, nulls empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow(["" if record[c] is None else str(record[c]) for c in CSV_COLUMNS])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


# ---- grammar


def test_tver_serial_carries_a_buddhist_era_vintage() -> None:
    serial = format_tver(True, 412, 2023, 45, start=1, end=1916)
    assert serial == "TVER-P-0412-2566-00045-1-1916"
    parsed = parse_serial(serial)
    assert (parsed.scheme, parsed.scope, parsed.block_start, parsed.block_end) == (
        "tver",
        "00045",
        1,
        1916,
    )
    assert (parsed.vintage_start, parsed.vintage_end) == ("2023-01-01", "2023-12-31")
    assert parsed.extra("class") == "premium" and parsed.project_id == "TVER-P-0412"


@pytest.mark.parametrize(
    ("serial", "token", "message"),
    [
        ("TVER-P-0412-2023-00045-1-5", "2023", "before B.E. 2500 (a common-era year?)"),
        ("TVER-X-0412-2566-00045-1-5", "X", "is not P (Premium) or S (Standard)"),
        ("TVER-S-412-2566-00045-1-5", "412", "(project id) is not zero-padded to 4 digits"),
        ("TVER-S-0412-2566-45-1-5", "45", "(batch) is not zero-padded to 5 digits"),
        ("TVER-S-0412-2566-00045-1-x", "x", "(block end) is not a number"),
    ],
)
def test_tver_errors_name_the_token(serial: str, token: str, message: str) -> None:
    with pytest.raises(SerialError) as caught:
        parse_serial(serial)
    assert caught.value.token == token
    assert message in str(caught.value)


# ---- normalization


def test_buddhist_era_dates_become_common_era() -> None:
    raw = _record(credit_status="Retired", status_date_be="01/10/2567", status_remark="CSR")
    block = connector.normalize(RawRecord(raw, "t:1"))
    assert (block.registry, block.scheme, block.scope) == ("tccr", "tver", "00045")
    assert (block.vintage_start, block.status, block.status_date) == (
        "2023-01-01",
        "retired",
        "2024-10-01",
    )
    assert block.country == "TH" and block.status_reason == "CSR"


def test_article_6_transfer_fields() -> None:
    raw = _record(
        credit_status="Transferred",
        a6_authorization_no="TGO-LoA-2023-0001",
        a6_authorized_use="NDC",
        a6_itmo_id="ITMO-TH-CH-2023-0001",
        a6_first_transfer_date="2023-12-01",
        a6_acquiring_party="CH",
        a6_ca_status="Applied",
    )
    block = connector.normalize(RawRecord(raw, "t:1"))
    assert block.status == "transferred"
    assert (block.authorization_id, block.authorized_purpose) == ("TGO-LoA-2023-0001", "ndc")
    assert (block.itmo_id, block.first_transfer_date) == ("ITMO-TH-CH-2023-0001", "2023-12-01")
    assert block.corresponding_adjustment == "applied"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"credit_status": "Used"}, "credit_status"),
        ({"status_date_be": "2024-01-01"}, "status_date_be"),
        ({"a6_first_transfer_date": "01/12/2566"}, "a6_first_transfer_date"),
        ({"a6_ca_status": "Done"}, "a6_ca_status"),
        ({"volume_tco2e": "1,916"}, "volume_tco2e"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        connector.normalize(RawRecord(_record(**changes), "t:1"))
    assert caught.value.field == field


# ---- CSV export stream


def _export_stream() -> CsvExportStream:
    stream, loas = connector.streams(ConnectorConfig(name="tccr", base_url="http://tgo.test"))
    assert (loas.name, loas.record_type) == ("authorizations", "authorization")
    assert isinstance(stream, CsvExportStream)
    return stream


def _reply(request: RequestSpec, status: int, body: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=body, headers=headers, request=httpx.Request("GET", request.url)
    )


def test_export_rows_are_the_typed_records_of_the_api() -> None:
    stream = _export_stream()
    request = stream.first_request(None)
    assert request is not None and "If-None-Match" not in request.headers
    records = [_record(), _record(credit_id="TC-2", credit_status="Retired", status_remark="a, b")]
    page = stream.parse_page(
        _reply(request, 200, _csv(records), ETag='"v1"', **{"X-Record-Count": "2"}), request
    )
    assert [r.payload for r in page.records] == records
    assert page.cursor == {"etag": '"v1"'} and page.next_request is None


def test_etag_is_sent_back_and_304_is_not_modified() -> None:
    stream = _export_stream()
    request = stream.first_request({"etag": '"v1"', "_complete": True})
    assert request is not None and request.headers["If-None-Match"] == '"v1"'
    page = stream.parse_page(_reply(request, 304, b""), request)
    assert page.not_modified and page.records == []
    assert page.cursor == {"etag": '"v1"'}


def test_a_short_export_is_retried() -> None:
    stream = _export_stream()
    request = stream.first_request(None)
    assert request is not None
    body = _csv([_record()])
    with pytest.raises(RetriableSourceError, match="X-Record-Count says 2"):
        stream.parse_page(_reply(request, 200, body, **{"X-Record-Count": "2"}), request)


def test_a_foreign_csv_is_fatal() -> None:
    stream = _export_stream()
    request = stream.first_request(None)
    assert request is not None
    with pytest.raises(FatalSourceError):
        stream.parse_page(_reply(request, 200, b"a,b\r\n1,2\r\n"), request)


# ---- JSON API stream


def test_api_stream_follows_next() -> None:
    (stream,) = connector.streams(
        ConnectorConfig(
            name="tccr",
            base_url="http://tgo.test",
            options={"source": "api", "page_size": 1, "authorizations": False},
        )
    )
    assert isinstance(stream, CreditsApiStream)
    request = stream.first_request(None)
    assert request is not None and request.params == {"offset": 0, "limit": 1}
    body = {
        "count": 2,
        "next": "/api/v2/credits?offset=1&limit=1",
        "previous": None,
        "results": [_record()],
    }
    page = stream.parse_page(_reply(request, 200, json.dumps(body).encode()), request)
    assert page.next_request is not None and page.next_request.params["offset"] == 1
    assert page.cursor == {"offset": 1} and page.totals == {"records": 2}
    body = {"count": 2, "next": None, "previous": "x", "results": [_record(credit_id="TC-2")]}
    last = stream.parse_page(
        _reply(page.next_request, 200, json.dumps(body).encode()), page.next_request
    )
    assert last.next_request is None


def test_unknown_source_option_is_fatal() -> None:
    with pytest.raises(FatalSourceError, match="source"):
        connector.streams(
            ConnectorConfig(name="tccr", base_url="http://x", options={"source": "ftp"})
        )


# ---- a generated world


def test_world_reads_the_same_through_the_file_the_api_and_the_csv(tmp_path: Path) -> None:
    generate_world(12, 3000, tmp_path, malformed=7)
    manifest = json.loads((tmp_path / "world.json").read_text())
    records = list(world_records(tmp_path, "tccr/tver-credits.ndjson"))
    page = prepare_page(connector, records, "2026-01-01T00:00:00Z")
    assert len(page.blocks) == manifest["registries"]["tccr"]["records"]
    bad = {m["record_id"] for m in manifest["malformed"] if m["registry"] == "tccr"}
    assert {q.payload["credit_id"] for q in page.quarantined} == bad
    # The CSV export of the same records gives the same blocks, raw hashes included.
    good = [r.payload for r in records if r.payload["credit_id"] not in bad]
    export = tmp_path / "export.csv"
    export.write_bytes(_csv(good))
    via_csv = prepare_page(connector, connector.read_file(export), "2026-01-01T00:00:00Z")
    assert [b.raw_hash for b in via_csv.blocks] == [b.raw_hash for b in page.blocks]
    # The Bangkok e-bus precedent is in every world.
    ebus = [b for b in page.blocks if b.itmo_id == "ITMO-TH-CH-2023-0001"]
    assert len(ebus) == 1 and ebus[0].quantity == 1916 and ebus[0].status == "transferred"
