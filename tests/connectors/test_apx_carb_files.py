"""The real ACR, CAR, ART TREES and CARB files import whole (issue 16): every row stored with
the quantities and statuses of the file's own columns (summed here from the CSV itself);
issuances and CARB rows numbered their own way (never range compared); only CARB's note rows
quarantined, each with its reason. Runs on the run's database backend."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from metaregistry.cli import main
from metaregistry.index import store
from metaregistry.index.db import create_engine
from metaregistry.model import UnitBlock, references_of

pytestmark = pytest.mark.realdata

OFFSETSDB = "carbonplan-offsetsdb"
FILES = {
    "acr": ("american-carbon-registry", "Total Credits Issued", "Quantity of Credits"),
    "car": ("climate-action-reserve", "Total Offset Credits Issued", "Quantity of Offset Credits"),
    "art-trees": ("art-trees", "Credits Verified", "Quantity of Credits"),
}
STATUS = {"issuances": "issued", "retirements": "retired", "cancellations": "cancelled"}


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def imported(db_url: str, connector: str, path: Path) -> tuple[str, list[UnitBlock]]:
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    result = CliRunner().invoke(main, ["import", connector, str(path), "--no-detect"], env=env)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return result.output, list(store.blocks(conn))
    finally:
        engine.dispose()


def whole(text: str) -> int:
    return int(float(text.replace(",", "")))


@pytest.mark.parametrize("connector", sorted(FILES))
@pytest.mark.parametrize("kind", ["issuances", "retirements", "cancellations"])
def test_each_report_imports_whole(real_data: Path, db_url: str, connector: str, kind: str) -> None:
    folder, issued_column, unit_column = FILES[connector]
    path = real_data / OFFSETSDB / folder / f"{kind}.csv"
    table = rows(path)
    output, blocks = imported(db_url, connector, path)
    count = len(table)
    assert f"{count} records, {count} written, 0 unchanged, 0 quarantined" in output, output
    column = issued_column if kind == "issuances" else unit_column
    assert Counter(b.status for b in blocks) == {STATUS[kind]: count}
    assert sum(b.quantity for b in blocks) == sum(whole(r[column]) for r in table)
    if kind == "issuances":
        assert {b.numbering for b in blocks} == {"own"}  # never range compared
        assert all(b.project_id and b.project_id[:3] in ("ACR", "CAR", "ART") for b in blocks)
    else:
        assert {b.numbering for b in blocks} == {None}
        serial = "Credit Serial Numbers" if connector != "car" else "Offset Credit Serial Numbers"
        assert {b.serial for b in blocks} == {r[serial] for r in table}


def test_carb_tables_import_with_their_opr_projects(real_data: Path, db_url: str) -> None:
    paths = [
        real_data / OFFSETSDB / "arb" / "nc-arboc_issuance_sheet3.csv",
        real_data / "carb-arboc-issuance" / "arboc_issuance_table_2024-11-27.csv",
    ]
    output, _ = imported(db_url, "carb", paths[0])
    assert "100 records, 98 written, 0 unchanged, 2 quarantined" in output, output
    output, blocks = imported(db_url, "carb", paths[1])
    table = rows(paths[1])
    notes = [
        r
        for r in table
        if r["ARB Offset Credits Issued"].strip().lower() in ("n/a", "")
        or not r["ARB Offset Credits Issued"].strip()[0].isdigit()
    ]
    assert f"{len(table)} records" in output and f"{len(notes)} quarantined" in output, output
    stored = {b.record_id: b for b in blocks}
    good = [r for r in table if r not in notes]
    for row in good:
        block = stored[row["CARB Issuance ID"]]
        assert block.numbering == "own"
    assert sum(stored[r["CARB Issuance ID"]].quantity for r in good) == sum(
        whole(r["ARB Offset Credits Issued"]) for r in good
    )
    moved = stored["CAOD5001-A"]  # OPR CAR992, its Comment names ACR258
    assert references_of(moved.cross_refs) == [
        ("opr_project", "car", "CAR992"),
        ("opr_project_comment", "acr", "ACR258"),
    ]
    assert references_of(stored["CAMM1051-B"].cross_refs) == [("opr_project", "acr", "ACR1051")]


def test_carb_xlsx_reads_as_the_csv_does(real_data: Path, db_url: str, tmp_path: Path) -> None:
    """CARB publishes the table as XLSX with the same columns: an XLSX written here from the
    CSV's rows imports to the same records (same hashes)."""
    source = real_data / OFFSETSDB / "arb" / "nc-arboc_issuance_sheet3.csv"
    text = source.read_text(encoding="utf-8-sig")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in csv.reader(io.StringIO(text)):
        sheet.append(row)
    xlsx = tmp_path / "arboc_issuance.xlsx"
    book.save(xlsx)
    _, from_csv = imported(db_url, "carb", source)
    output, from_xlsx = imported(db_url, "carb", xlsx)
    assert "98 unchanged" in output, output
    assert {b.record_hash for b in from_csv} == {b.record_hash for b in from_xlsx}
