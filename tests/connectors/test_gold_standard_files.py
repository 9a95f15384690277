"""Gold Standard export files: the real samples, read in place, and what can go wrong."""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from metaregistry.connector import FatalSourceError
from metaregistry.index import store
from metaregistry.pipeline import PreparedPage, prepare_page
from metaregistry_connectors.gold_standard import connector

pytestmark = pytest.mark.realdata

OBSERVED = "2026-05-01T00:00:00.000000Z"
ISSUANCES = "carbonplan-offsetsdb/gold-standard/issuances.csv"
RETIREMENTS = "carbonplan-offsetsdb/gold-standard/retirements.csv"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def imported(path: Path) -> PreparedPage:
    return prepare_page(connector, connector.read_file(path), OBSERVED)


def write_csv(path: Path, source: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(source[0]))
        writer.writeheader()
        writer.writerows(source)
    return path


def test_issuances_export_gives_one_block_per_row(real_data: Path) -> None:
    path = real_data / ISSUANCES
    source = rows(path)
    page = imported(path)
    assert page.quarantined == []
    assert len(page.blocks) == len(source) == 100
    assert sum(b.quantity for b in page.blocks) == sum(int(r["Quantity"]) for r in source)
    assert {b.status for b in page.blocks} == {"issued"}
    for row, block in zip(source, page.blocks, strict=True):
        serial = row["Serial Number"]
        assert block.record_id == "issuance:" + serial
        assert block.status_date == row["Issuance Date"][:10]
        if serial.startswith("GS"):
            tokens = serial.split("-")
            assert (block.scheme, block.scope) == ("gs", tokens[6])
            assert (block.block_start, block.block_end) == (int(tokens[7]), int(tokens[8]))
            assert block.project_id == "GS" + row["GSID"]
            assert block.origin is None
        else:
            # CDM CERs held in Gold Standard are numbered as CDM units.
            assert row["Product Type"] == "CER"
            assert (block.scheme, block.scope, block.country) == ("cdm", "RW-5", "RW")
            assert block.origin == serial
            assert block.vintage_start == row["Vintage"] + "-01-01"
    assert sum(b.scheme == "cdm" for b in page.blocks) == 3


def test_retirements_export_keeps_retired_and_cancelled_apart(real_data: Path) -> None:
    path = real_data / RETIREMENTS
    source = rows(path)
    page = imported(path)
    assert page.quarantined == []
    assert len(page.blocks) == len(source) == 100
    assert sum(b.quantity for b in page.blocks) == sum(int(r["Quantity"]) for r in source)
    expected = {"Retired": "retired", "Canceled": "cancelled"}
    assert [b.status for b in page.blocks] == [expected[r["Credit Status"]] for r in source]
    assert sum(b.status == "cancelled" for b in page.blocks) == 6
    for row, block in zip(source, page.blocks, strict=True):
        assert block.record_id == "retirement:" + row["Serial Number"]
        assert block.status_date == (row["Retirement Date"] or None)
        reason = block.status_reason or ""
        assert unicodedata.is_normalized("NFC", reason)
        if row["Using Entity"]:
            assert f"using entity: {row['Using Entity']}" in reason
        if row["Note"].strip():
            assert row["Note"].strip() in unicodedata.normalize("NFC", reason)
    zimbabwe = [b for b in page.blocks if "Zimbabwe Carbon Registry" in (b.status_reason or "")]
    assert zimbabwe and {b.status for b in zimbabwe} == {"cancelled"}


def test_issuance_and_its_later_retirement_are_both_kept(
    real_data: Path, engine: sa.Engine
) -> None:
    pages = [imported(real_data / ISSUANCES), imported(real_data / RETIREMENTS)]
    with engine.begin() as conn:
        for page in pages:
            store.upsert_blocks(conn, page.blocks, connector=connector.name)
    with engine.connect() as conn:
        assert sum(1 for _ in store.blocks(conn)) == 200
        batch = sorted(
            (b.record_id, b.status, b.block_start, b.block_end)
            for b in store.overlapping(conn, "gs", "30256", 1, 5485)
        )
    assert batch == [
        ("issuance:GS1-1-KE-GS11603-16-2025-30256-1-5485", "issued", 1, 5485),
        ("retirement:GS1-1-KE-GS11603-16-2025-30256-110-5463", "retired", 110, 5463),
    ]


def test_xlsx_export_gives_the_same_records(real_data: Path, tmp_path: Path) -> None:
    source = rows(real_data / RETIREMENTS)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(source[0]))
    for row in source:
        sheet.append([int(v) if k == "Quantity" else (v or None) for k, v in row.items()])
    book.save(tmp_path / "retirements.xlsx")
    xlsx_page = imported(tmp_path / "retirements.xlsx")
    csv_page = imported(real_data / RETIREMENTS)
    assert xlsx_page.quarantined == []
    assert [b.record_hash for b in xlsx_page.blocks] == [b.record_hash for b in csv_page.blocks]


def test_a_verra_file_names_its_columns(real_data: Path) -> None:
    with pytest.raises(FatalSourceError, match=r"Columns found: Issuance Date, Sustainable"):
        list(connector.read_file(real_data / "carbonplan-offsetsdb/verra/transactions.csv"))


def test_rows_that_disagree_with_their_serial_are_quarantined(
    real_data: Path, tmp_path: Path
) -> None:
    source = rows(real_data / ISSUANCES)[:4]
    source[0]["GSID"] = "99999"
    source[1]["Quantity"] = "19150"
    source[2]["Credit Status"] = "Frozen"
    page = imported(write_csv(tmp_path / "issuances.csv", source))
    assert len(page.blocks) == 1
    errors = {q.ref: q.error for q in page.quarantined}
    assert errors["issuances.csv:2"].startswith("GSID: disagrees with serial 'GS1-1-UG-GS11236")
    assert errors["issuances.csv:3"].startswith("Quantity: disagrees with serial")
    assert "(value: 19150)" in errors["issuances.csv:3"]
    assert "Credit Status: is not a known credit status" in errors["issuances.csv:4"]


def test_personal_data_is_never_stored(real_data: Path, tmp_path: Path, engine: sa.Engine) -> None:
    source = rows(real_data / RETIREMENTS)[:2]
    for row in source:
        row["Note"] = "Questions: retire@example.com, +41 44 668 18 00"
    page = imported(write_csv(tmp_path / "retirements.csv", source))
    with engine.begin() as conn:
        written = store.upsert_blocks(
            conn, page.blocks, connector=connector.name, raw_payloads=page.raw_payloads
        )
    assert written.written == 2
    with engine.connect() as conn:
        dump = " ".join(
            repr(tuple(row))
            for table in ("unit_block", "unit_block_version", "raw_record")
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
        )
    assert "Questions:" in dump
    assert "retire@example.com" not in dump and "668 18 00" not in dump
