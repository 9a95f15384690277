"""The export-file reader shared by the Verra and Gold Standard connectors."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from metaregistry.connector import FatalSourceError
from metaregistry.pipeline import prepare_page
from metaregistry_connectors.verra import connector
from metaregistry_connectors.verra.tabular import EXTRA_CELLS

HEADER = "Serial Number,Quantity Issued,Retirement/Cancellation Date,Retirement Details"
ROW = "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1,425,,"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_title_lines_bom_and_blank_rows(tmp_path: Path) -> None:
    text = "\ufeffVerra registry export\n\n" + HEADER + "\n" + ROW + "\n,,,\n" + ROW + "\n"
    records = list(connector.read_file(write(tmp_path / "export.csv", text)))
    assert [r.ref for r in records] == ["export.csv:4", "export.csv:6"]
    assert records[0].payload["Quantity Issued"] == "425"


def test_semicolon_separated_export(tmp_path: Path) -> None:
    text = HEADER.replace(",", ";") + "\n" + ROW.replace(",", ";") + "\n"
    (record,) = connector.read_file(write(tmp_path / "semicolons.csv", text))
    assert record.payload["Serial Number"].startswith("19385-")


def test_a_multi_line_cell_keeps_the_line_the_row_starts_on(tmp_path: Path) -> None:
    multi = ROW + '"first line\nsecond line"\n'
    text = HEADER + "\n" + multi + ROW + "\n"
    first, second = connector.read_file(write(tmp_path / "multi.csv", text))
    assert (first.ref, second.ref) == ("multi.csv:2", "multi.csv:4")
    assert first.payload["Retirement Details"] == "first line\nsecond line"


def test_cells_beyond_the_header_are_kept_and_short_rows_padded(tmp_path: Path) -> None:
    text = HEADER + "\n" + ROW + ",surplus\n" + ROW.rsplit(",", 2)[0] + "\n"
    long, short = connector.read_file(write(tmp_path / "ragged.csv", text))
    assert long.payload[EXTRA_CELLS] == ["surplus"]
    assert short.payload["Retirement Details"] == ""
    page = prepare_page(connector, [long, short], "2026-05-01T00:00:00.000000Z")
    assert len(page.blocks) == 2  # extra cells do not make a record invalid


def test_a_row_that_is_not_utf8_is_quarantined_with_its_line_and_the_rest_read(
    tmp_path: Path,
) -> None:
    """Issue 20 item 6: the rows after a bad one are not lost."""
    path = tmp_path / "latin.csv"
    good = (HEADER + "\n" + ROW + "\n").encode("utf-8")
    bad = (ROW[:-1] + "Caf\u00e9 Ol\u00e9\n").encode("latin-1")
    path.write_bytes(good + bad + (ROW + "\n").encode("utf-8"))
    records = list(connector.read_file(path))
    assert [r.ref for r in records] == ["latin.csv:2", "latin.csv:3", "latin.csv:4"]
    page = prepare_page(connector, records, "2026-05-01T00:00:00.000000Z")
    assert len(page.blocks) == 2
    (entry,) = page.quarantined
    assert entry.ref == "latin.csv:3" and "not UTF-8" in entry.error


def test_legacy_xls_and_broken_xlsx_fail_cleanly(tmp_path: Path) -> None:
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    with pytest.raises(FatalSourceError, match=r"\.xls files are not read"):
        list(connector.read_file(xls))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FatalSourceError, match="not a readable XLSX"):
        list(connector.read_file(broken))


def test_the_matching_sheet_of_a_workbook_is_read(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "About"
    cover.append(["This workbook lists VCUs"])
    data = book.create_sheet("VCUs")
    data.append(HEADER.split(","))
    data.append([*ROW.split(",")[:1], 425, None, None])
    book.save(tmp_path / "two-sheets.xlsx")
    (record,) = connector.read_file(tmp_path / "two-sheets.xlsx")
    assert record.ref == "two-sheets.xlsx[VCUs]:2"
    assert record.payload["Quantity Issued"] == "425"


def test_a_workbook_of_another_kind_names_its_columns(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Project", "Tonnes"])
    book.save(tmp_path / "other.xlsx")
    with pytest.raises(FatalSourceError, match="Columns found: Project, Tonnes"):
        list(connector.read_file(tmp_path / "other.xlsx"))


def test_a_bad_date_in_a_column_the_block_does_not_keep_is_refused() -> None:
    """Issue 20 item 4: a retired row's Issuance Date (the block keeps the retirement date)
    is read too, and a date that does not exist quarantines the row naming the column."""
    from metaregistry.connector import RecordError
    from metaregistry_connectors.verra.blocks import transaction_block
    from metaregistry_connectors.verra.fields import TRANSACTIONS

    row = {
        "Serial Number": ROW.split(",", maxsplit=1)[0],
        "Quantity Issued": "425",
        "Issuance Date": "2026-13-45",
        "Retirement/Cancellation Date": "12/03/2021",
        "Retirement Reason": "Environmental Benefit",
    }
    with pytest.raises(RecordError) as caught:
        transaction_block(row, TRANSACTIONS)
    assert "Issuance Date" in str(caught.value) and "2026-13-45" in str(caught.value)
    row["Issuance Date"] = "03/01/2021"
    assert transaction_block(row, TRANSACTIONS).status == "retired"
