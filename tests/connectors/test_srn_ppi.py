"""SRN-PPI: the SPE-GRK grammar, the paged bearer-token stream, and normalization of native,
converted and Article 6 records."""

from __future__ import annotations

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
    RetriableSourceError,
)
from metaregistry.mock.world import generate_world, world_records
from metaregistry.pipeline import prepare_page
from metaregistry.serials import SerialError, parse_serial
from metaregistry.serials.national import format_spe_grk
from metaregistry_connectors.srn_ppi import UnitKarbonStream, connector

VERRA_SERIAL = "19385-941467007-941467431-VCS-VCU-1507-VER-ID-14-1340-01012020-31122020-1"


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id_unit": "SRN-U-0000000001",
        "nomor_seri": "IDN-SPEGRK-PPI2021000412-2023-000017-1-5000",
        "jenis_unit": "SPE-GRK",
        "nomor_seri_asal": None,
        "registri_asal": None,
        "jumlah_unit": 5000,
        "status_unit": "Diterbitkan",
        "alasan_status": None,
        "tanggal_status": None,
        "tanggal_penerbitan": "15/03/2024",
        "kode_proyek": "PPI-2021-000412",
        "nama_proyek": "Restorasi Gambut Kalimantan Tengah 1",
        "provinsi": "Kalimantan Tengah",
        "sektor": "Kehutanan",
        "tahun_vintage": 2023,
        "otorisasi_loa": None,
        "status_penyesuaian_korespondensi": "Tidak Diperlukan",
        "id_itmo": None,
        "tanggal_transfer_pertama": None,
        "diperbarui_pada": "2024-03-15T09:00:00+07:00",
    }
    record.update(changes)
    return record


# ---- grammar


@pytest.mark.parametrize(("batch", "start", "end"), [(1, 1, 1), (17, 1, 5000), (999999, 7, 2**40)])
def test_spe_grk_serial_round_trips(batch: int, start: int, end: int) -> None:
    serial = format_spe_grk("PPI2021000412", 2023, batch, start=start, end=end)
    parsed = parse_serial(serial)
    assert (parsed.scheme, parsed.scope) == ("spe-grk", f"{batch:06d}")
    assert (parsed.block_start, parsed.block_end) == (start, end)
    assert (parsed.vintage_start, parsed.country) == ("2023-01-01", "ID")


@pytest.mark.parametrize(
    ("serial", "token", "message"),
    [
        ("IDN-SPEGRK-PPI1-2023-17-1-5", "17", "(batch) is not zero-padded to 6 digits"),
        ("IDN-SPEGRK-PPI1-2023-000017-9-5", "5", "(block end) is before block start 9"),
        ("IDN-SPEGRK-PPI1-23-000017-1-5", "23", "(vintage) is not a four-digit year"),
        ("IDN-SPEGRK-PPI1-2023-000017-1", None, "missing token (block end)"),
        ("IDN-SPEGRK-PPI1-2023-000017-1-5-6", "6", "unexpected token '6'"),
    ],
)
def test_spe_grk_errors_name_the_token(serial: str, token: str | None, message: str) -> None:
    with pytest.raises(SerialError) as caught:
        parse_serial(serial)
    assert caught.value.token == token
    assert message in str(caught.value)


# ---- normalization


def test_native_certificate_is_numbered_in_its_batch() -> None:
    block = connector.normalize(RawRecord(_record(), "t:1"))
    assert (block.registry, block.record_id) == ("srn-ppi", "SRN-U-0000000001")
    assert (block.scheme, block.scope, block.block_start, block.block_end) == (
        "spe-grk",
        "000017",
        1,
        5000,
    )
    assert (block.status, block.country, block.origin) == ("issued", "ID", None)
    assert (block.vintage_start, block.vintage_end) == ("2023-01-01", "2023-12-31")
    assert block.corresponding_adjustment == "not-required"


def test_converted_vcus_are_numbered_in_the_source_scheme() -> None:
    raw = _record(
        nomor_seri="IDN-SPEGRK-PPI2021000412-2023-000018-1-425",
        jenis_unit="SPE-GRK Konversi VCU",
        nomor_seri_asal=VERRA_SERIAL,
        registri_asal="Verra",
        jumlah_unit=425,
        status_unit="Dipensiunkan",
        alasan_status="Penggunaan untuk pemenuhan kewajiban",
        tanggal_status="01/02/2025",
    )
    block = connector.normalize(RawRecord(raw, "t:1"))
    assert block.serial == "IDN-SPEGRK-PPI2021000412-2023-000018-1-425"
    assert block.origin == VERRA_SERIAL
    assert (block.scheme, block.scope, block.block_start, block.block_end) == (
        "vcs",
        "",
        941467007,
        941467431,
    )
    assert (block.status, block.status_date) == ("retired", "2025-02-01")


def test_article_6_state_is_translated() -> None:
    raw = _record(
        status_unit="Ditransfer",
        otorisasi_loa={
            "nomor_loa": "LoA-KLHK-2024-0031",
            "tanggal_loa": "02/01/2024",
            "tujuan_penggunaan": "NDC dan OIMP",
        },
        status_penyesuaian_korespondensi="Tidak Diterapkan",
        id_itmo="ITMO-ID-2024-000031",
        tanggal_transfer_pertama="30/06/2024",
    )
    block = connector.normalize(RawRecord(raw, "t:1"))
    assert block.status == "transferred"
    assert block.authorization_id == "LoA-KLHK-2024-0031"
    assert block.authorized_purpose == "ndc-and-oimp"
    assert block.corresponding_adjustment == "not-applied"
    assert (block.itmo_id, block.first_transfer_date) == ("ITMO-ID-2024-000031", "2024-06-30")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status_unit": "Aktif"}, "status_unit"),
        ({"tanggal_status": "31/02/2024"}, "tanggal_status"),
        ({"nomor_seri": "IDN-SPEGRK-X"}, "nomor_seri"),
        (
            {"nomor_seri_asal": "not a serial", "jenis_unit": "SPE-GRK Konversi VCU"},
            "nomor_seri_asal",
        ),
    ],
)
def test_bad_fields_are_named_in_the_error(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        connector.normalize(RawRecord(_record(**changes), "t:1"))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_pipeline_quarantines_a_quantity_that_is_not_the_range() -> None:
    page = prepare_page(
        connector, [RawRecord(_record(jumlah_unit=4999), "t:1")], "2026-01-01T00:00:00Z"
    )
    assert page.blocks == []
    assert "quantity: 4999 does not match" in page.quarantined[0].error


# ---- the HTTP stream


def _response(request_spec: Any, body: bytes, status: int = 200) -> httpx.Response:
    request = httpx.Request("GET", request_spec.url, params=request_spec.params)
    return httpx.Response(status, content=body, request=request)


def _stream() -> UnitKarbonStream:
    stream, loas = connector.streams(
        ConnectorConfig(
            name="srn-ppi", base_url="http://srn.test/", token="rahasia", options={"page_size": 2}
        )
    )
    assert isinstance(stream, UnitKarbonStream)
    # the letters of authorization follow the units, paged the same way (issue 19)
    assert (loas.name, loas.record_type) == ("otorisasi", "authorization")
    assert (request := loas.first_request(None)) is not None
    assert request.url == "http://srn.test/api/v1/otorisasi" and request.params["halaman"] == 1
    return stream


def test_stream_pages_by_number_with_a_bearer_token() -> None:
    stream = _stream()
    first = stream.first_request(None)
    assert first is not None
    assert first.url == "http://srn.test/api/v1/unit-karbon"
    assert first.params == {"halaman": 1, "per_halaman": 2}
    assert first.headers["Authorization"] == "Bearer rahasia"
    body = {
        "data": [_record(), _record(id_unit="SRN-U-2")],
        "meta": {"halaman": 1, "per_halaman": 2, "total_data": 3, "total_halaman": 2},
    }
    page = stream.parse_page(_response(first, json.dumps(body).encode()), first)
    assert [r.payload["id_unit"] for r in page.records] == ["SRN-U-0000000001", "SRN-U-2"]
    assert page.cursor == {"halaman": 2}
    assert page.totals == {"records": 3}
    assert page.next_request is not None and page.next_request.params["halaman"] == 2
    last_body = {
        "data": [_record(id_unit="SRN-U-3")],
        "meta": {"halaman": 2, "per_halaman": 2, "total_data": 3, "total_halaman": 2},
    }
    last = stream.parse_page(
        _response(page.next_request, json.dumps(last_body).encode()), page.next_request
    )
    assert last.next_request is None


def test_stream_resumes_mid_run_and_restarts_after_a_complete_one() -> None:
    stream = _stream()
    resumed = stream.first_request({"halaman": 7})
    again = stream.first_request({"halaman": 7, "_complete": True})
    assert resumed is not None and resumed.params["halaman"] == 7
    assert again is not None and again.params["halaman"] == 1


def test_cut_off_body_is_retriable_and_a_foreign_shape_is_fatal() -> None:
    stream = _stream()
    request = stream.first_request(None)
    assert request is not None
    with pytest.raises(RetriableSourceError):
        stream.parse_page(_response(request, b'{"data": [{"id_unit": "SRN'), request)
    with pytest.raises(FatalSourceError):
        stream.parse_page(_response(request, b'{"results": []}'), request)


def test_an_item_that_is_not_an_object_is_kept_for_quarantine() -> None:
    stream = _stream()
    request = stream.first_request(None)
    assert request is not None
    body = {
        "data": ["garbage"],
        "meta": {"halaman": 1, "per_halaman": 2, "total_data": 1, "total_halaman": 1},
    }
    page = stream.parse_page(_response(request, json.dumps(body).encode()), request)
    prepared = prepare_page(connector, page.records, "2026-01-01T00:00:00Z")
    assert prepared.blocks == [] and len(prepared.quarantined) == 1


def test_base_url_is_required() -> None:
    with pytest.raises(FatalSourceError, match="base_url"):
        connector.streams(ConnectorConfig(name="srn-ppi"))


# ---- a generated world


def test_every_generated_record_normalizes(tmp_path: Path) -> None:
    generate_world(11, 3000, tmp_path, malformed=7)
    records = list(world_records(tmp_path, "srn-ppi/unit-karbon.ndjson"))
    page = prepare_page(connector, records, "2026-01-01T00:00:00Z")
    manifest = json.loads((tmp_path / "world.json").read_text())
    bad = {m["record_id"] for m in manifest["malformed"] if m["registry"] == "srn-ppi"}
    assert len(page.blocks) == manifest["registries"]["srn-ppi"]["records"]
    assert {q.payload["id_unit"] for q in page.quarantined} == bad
    converted = [b for b in page.blocks if b.origin]
    assert {b.scheme for b in converted} == {"vcs", "gs"}
    # read_file reads the same file the same way.
    via_file = list(connector.read_file(tmp_path / "srn-ppi/unit-karbon.ndjson"))
    assert [r.payload for r in via_file] == [r.payload for r in records]
