"""Verra export files: the real samples, read in place, and the ways a file can be wrong."""

from __future__ import annotations

import csv
import datetime
import itertools
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry.cli import main
from metaregistry.connector import FatalSourceError
from metaregistry.index import store
from metaregistry.model import UnitBlock
from metaregistry.pipeline import PreparedPage, prepare_page
from metaregistry_connectors.verra import UNDISTINGUISHED, connector

pytestmark = pytest.mark.realdata

OBSERVED = "2026-05-01T00:00:00.000000Z"
TRANSACTIONS = "carbonplan-offsetsdb/verra/transactions.csv"
HOLDINGS = "moss-mco2-verra/mco2_verra_subaccount_holdings.csv"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def units(text: str) -> int:
    return int(text.replace(",", ""))


def imported(path: Path) -> PreparedPage:
    return prepare_page(connector, connector.read_file(path), OBSERVED)


def test_transactions_export_gives_one_block_per_row(real_data: Path) -> None:
    path = real_data / TRANSACTIONS
    source = rows(path)
    page = imported(path)
    assert page.quarantined == []
    assert len(page.blocks) == len(source) == 200
    assert sum(b.quantity for b in page.blocks) == sum(units(r["Quantity Issued"]) for r in source)
    by_serial = {b.record_id: b for b in page.blocks}
    assert len(by_serial) == 200  # the serial is unique per row: a stable record id
    for row in source:
        block = by_serial[row["Serial Number"]]
        ended = row["Retirement/Cancellation Date"]
        assert (block.scheme, block.scope, block.serial) == ("vcs", "", row["Serial Number"])
        assert block.project_id == "VCS" + row["ID"]
        assert block.vintage_start == row["Vintage Start"]
        if ended:
            # The export cannot tell retired from cancelled; the record says so.
            assert block.status == "retired"
            assert block.status_date == ended
            assert block.status_reason is not None
            assert block.status_reason.startswith(UNDISTINGUISHED)
            if row["Retirement Beneficiary"]:
                assert row["Retirement Beneficiary"] in block.status_reason
        else:
            assert (block.status, block.status_date) == ("issued", row["Issuance Date"])
    assert sum(b.status == "retired" for b in page.blocks) == 100


def test_a_batch_split_by_a_retirement_gives_adjacent_blocks(real_data: Path) -> None:
    page = imported(real_data / TRANSACTIONS)
    batches: dict[str, list[UnitBlock]] = defaultdict(list)
    for block in page.blocks:
        batches[block.serial.split("-", 1)[0]].append(block)
    split = {
        batch: sorted(blocks, key=lambda b: b.block_start)
        for batch, blocks in batches.items()
        if {b.status for b in blocks} == {"retired", "issued"}
    }
    assert len(split) == 3
    assert "19380" in split
    for blocks in split.values():
        for left, right in itertools.pairwise(blocks):
            assert left.block_end + 1 == right.block_start  # adjacent, not overlapping
            assert left.record_id != right.record_id


def test_holdings_report_is_live_units_in_sub_accounts(real_data: Path) -> None:
    path = real_data / HOLDINGS
    source = rows(path)
    page = imported(path)
    assert page.quarantined == []
    assert len(page.blocks) == len(source) == 161
    total = sum(units(r["Quantity of Credits"]) for r in source)
    assert sum(b.quantity for b in page.blocks) == total == 3_041_044
    assert {b.status for b in page.blocks} == {"issued"}
    for row, block in zip(source, page.blocks, strict=True):
        legacy = "-APX-" in row["Serial Number"] or "-MER-" in row["Serial Number"]
        assert block.scope == ("legacy" if legacy else "")
        assert block.status_reason == (
            f"held in sub-account: {row['Sub-Account ID']} ({row['Sub-Account Name']})"
        )
    first = page.blocks[0]
    assert (first.vintage_start, first.vintage_end) == ("2014-07-01", "2014-12-31")


def test_every_row_is_referenced_by_file_and_line(real_data: Path) -> None:
    records = list(connector.read_file(real_data / TRANSACTIONS))
    assert records[0].ref == "transactions.csv:2"
    assert {r.stream for r in records} == {"transactions"}
    # Quoted cells span lines in this export, so lines only grow.
    lines = [int(r.ref.rsplit(":", 1)[1]) for r in records]
    assert lines == sorted(set(lines))


def _as_xlsx(source: list[dict[str, str]], path: Path) -> Path:
    """The CSV rows as Verra's XLSX download holds them: typed cells, a title line above."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    header = list(source[0])
    sheet.append(["VCU issuances and retirements"])
    sheet.append([])
    sheet.append(header)
    dated = {"Issuance Date", "Vintage Start", "Vintage End", "Retirement/Cancellation Date"}
    for row in source:
        cells: list[object] = []
        for name in header:
            value = row[name]
            if name in dated and value:
                cells.append(datetime.datetime.fromisoformat(value))
            elif name in ("Quantity Issued", "Total Vintage Quantity") and value:
                cells.append(units(value))
            else:
                cells.append(value or None)
        sheet.append(cells)
    book.save(path)
    return path


def test_xlsx_export_gives_the_same_records_as_the_csv(real_data: Path, tmp_path: Path) -> None:
    csv_page = imported(real_data / TRANSACTIONS)
    xlsx = _as_xlsx(rows(real_data / TRANSACTIONS), tmp_path / "Verra export.xlsx")
    xlsx_records = list(connector.read_file(xlsx))
    assert xlsx_records[0].ref == "Verra export.xlsx:4"
    xlsx_page = prepare_page(connector, xlsx_records, OBSERVED)
    assert xlsx_page.quarantined == []
    assert [b.record_hash for b in xlsx_page.blocks] == [b.record_hash for b in csv_page.blocks]


def test_a_file_of_another_kind_names_its_columns(real_data: Path) -> None:
    path = real_data / "carbonplan-offsetsdb/gold-standard/issuances.csv"
    with pytest.raises(FatalSourceError, match=r"Columns found: Vintage, Credit Status"):
        list(connector.read_file(path))


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(FatalSourceError, match="empty"):
        list(connector.read_file(empty))
    header_only = tmp_path / "header.csv"
    header_only.write_text("Serial Number,Quantity Issued,Retirement/Cancellation Date\n")
    assert list(connector.read_file(header_only)) == []
    with pytest.raises(FatalSourceError, match="cannot read"):
        list(connector.read_file(tmp_path / "missing.csv"))


def test_bad_rows_are_quarantined_with_their_reason(real_data: Path, tmp_path: Path) -> None:
    source = rows(real_data / TRANSACTIONS)[:3]
    source[0]["Serial Number"] = source[0]["Serial Number"].replace("-VER-", "-XXX-")
    source[1]["Quantity Issued"] = "a lot"
    path = tmp_path / "bad.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(source[0]))
        writer.writeheader()
        writer.writerows(source)
    page = imported(path)
    assert len(page.blocks) == 1
    reasons = {q.ref: (q.stage, q.error) for q in page.quarantined}
    assert set(reasons) == {"bad.csv:2", "bad.csv:3"}
    assert "cannot parse serial" in reasons["bad.csv:2"][1]
    assert reasons["bad.csv:3"][0] == "raw"
    assert "Quantity Issued" in reasons["bad.csv:3"][1]


def test_personal_data_is_never_stored(real_data: Path, tmp_path: Path, engine: sa.Engine) -> None:
    source = rows(real_data / TRANSACTIONS)[1:3]
    fields = [*source[0], "Account Holder E-mail"]
    for row in source:
        row["Retirement Details"] = "Contact jane.doe@example.org or +44 20 7946 0958"
        row["Account Holder E-mail"] = "owner@example.com"
    path = tmp_path / "with-pii.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(source)
    page = imported(path)
    with engine.begin() as conn:
        result = store.upsert_blocks(
            conn, page.blocks, connector=connector.name, raw_payloads=page.raw_payloads
        )
        store.quarantine(conn, page.quarantined)
    assert result.written == 2
    dump = _database_text(engine)
    assert "Retired" in dump or "retired" in dump  # the dump does hold the records
    for secret in ("jane.doe", "example.org", "owner@", "7946 0958", "Account Holder E-mail"):
        assert secret not in dump


def _database_text(engine: sa.Engine) -> str:
    texts: list[str] = []
    with engine.connect() as conn:
        for table in ("unit_block", "unit_block_version", "raw_record", "quarantine"):
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
                texts.append(repr(tuple(row)))
    return "\n".join(texts)


def test_import_command_stores_the_real_export(
    real_data: Path, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    runner = CliRunner()
    path = str(real_data / TRANSACTIONS)
    first = runner.invoke(main, ["import", "verra", path, "--no-detect"], env=env)
    assert first.exit_code == 0, first.output
    assert "200 records, 200 written, 0 unchanged, 0 quarantined" in first.output
    again = runner.invoke(main, ["import", "verra", path, "--no-detect"], env=env)
    assert "200 records, 0 written, 200 unchanged" in again.output
    wrong = runner.invoke(
        main, ["import", "verra", str(real_data / "carbonplan-offsetsdb/verra/projects.csv")]
    )
    assert wrong.exit_code != 0
    assert "Columns found" in wrong.output
