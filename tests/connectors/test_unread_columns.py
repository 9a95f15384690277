"""Every column a connector knows is checked for its type and format, whether or not the
unit block keeps it (issue 20 item 4): a date that does not exist in a column the block does
not use still quarantines the record, naming the column and the value."""

from __future__ import annotations

import copy
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

from metaregistry import plugins
from metaregistry.connector import Connector, RawRecord
from metaregistry.pipeline import prepare_page
from metaregistry.schemas import load_schema

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

OBSERVED = "2026-12-05T00:00:00Z"


def _sample(connector: Connector) -> list[dict[str, Any]]:
    path = Path(inspect.getfile(type(connector))).parent / "sample.json"
    records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["records"]
    return records


@pytest.mark.parametrize(
    ("name", "index", "column", "value"),
    [
        # a still-issued block keeps no retirement date, a retired one no issuance date
        ("verra", 0, "issuanceDate", "2026-13-45"),
        ("verra", 1, "retireOrCancelDate", "45/13/2026"),
        ("gold-standard", 1, "certified_date", "2026-13-45"),
        ("gold-standard", 0, "retirement_date", "2021-02-30x"),
        ("acr", 0, "ReportingPeriodBegin", "13/45/2025"),
        ("art-trees", 1, "Date Approved", "2026-13-45"),
    ],
)
def test_a_bad_value_in_a_column_the_block_does_not_keep_is_quarantined(
    name: str, index: int, column: str, value: str
) -> None:
    connector = plugins.load(name)
    item = _sample(connector)[index]
    good = RawRecord(item["payload"], "sample:1", item["stream"])
    assert len(prepare_page(connector, [good], OBSERVED).blocks) == 1
    payload = copy.deepcopy(item["payload"])
    payload[column] = value
    page = prepare_page(connector, [RawRecord(payload, "sample:2", item["stream"])], OBSERVED)
    assert not page.blocks
    [entry] = page.quarantined
    assert entry.error.startswith(f"{column}: is not a date"), entry.error
    assert value in entry.error


def test_a_verra_export_row_with_a_bad_unused_column_names_it(tmp_path: Path) -> None:
    connector = plugins.load("verra")
    header = (
        "Issuance Date,Vintage Start,Vintage End,ID,Name,Country/Area,Project Type,Methodology,"
        "Total Vintage Quantity,Quantity Issued,Serial Number,Additional Certifications,"
        "Retirement/Cancellation Date,Retirement Beneficiary,Retirement Reason,"
        "Retirement Details"
    )
    row = (
        '27/05/2019,01/01/2019,31/12/2019,2455,P,Ethiopia,Energy,VM0007,"2,583",806,'
        "20000-100001777-100002582-VCS-VCU-1417-VER-ET-8-2455-01012019-31122019-1,,,,,"
    )
    bad_total = row.replace('"2,583"', "lots")
    bad_id = row.replace(",2455,P,", ",VCS-2455,P,")
    path = tmp_path / "transactions.csv"
    path.write_text("\n".join([header, row, bad_total, bad_id]) + "\n", encoding="utf-8")
    page = prepare_page(connector, list(connector.read_file(path)), OBSERVED)
    assert len(page.blocks) == 1
    errors = {q.ref: q.error for q in page.quarantined}
    assert errors["transactions.csv:3"].startswith("Total Vintage Quantity: is not a whole number")
    assert errors["transactions.csv:4"].startswith("ID: is not a project number")


@pytest.mark.parametrize(
    ("name", "index", "column", "value", "words"),
    [
        ("acr", 0, "ARB Eligible", "maybe", "is not true or false"),
        ("acr", 0, "Credits Issued to Buffer Pool", "lots", "is not a whole number"),
        ("car", 0, "Offset Credits Currently in Reserve Buffer Pool", "1.2.3", "is not a number"),
        ("carb", 0, "Retired Voluntarily", "ten", "is not a number"),
        ("cercarbono", 0, "is_buffer", "maybe", "is not true or false"),
        ("cercarbono", 1, "to", "4971b", "is not a whole number"),
        ("gold-standard", 0, "batch_number", "B-7", "is not a whole number"),
        ("regen", 0, "issuance_date", "2026-13-45T00:00:00Z", "is not a date"),
    ],
)
def test_a_report_column_the_block_never_keeps_is_still_checked(
    name: str, index: int, column: str, value: str, words: str
) -> None:
    connector = plugins.load(name)
    item = _sample(connector)[index]
    payload = {**item["payload"], column: value}
    page = prepare_page(connector, [RawRecord(payload, "sample:1", item["stream"])], OBSERVED)
    assert not page.blocks
    [entry] = page.quarantined
    assert entry.error.startswith(f"{column}: {words}"), entry.error


_DATE_NAME = re.compile(r"(?i)(date|_at$|period ?(begin|end|start)|effective|approved)")


@pytest.mark.parametrize(
    "schema",
    sorted(str(p.relative_to(SCHEMAS)) for p in SCHEMAS.glob("raw/*/*.schema.json")),
)
def test_every_date_column_of_every_raw_schema_has_its_format(schema: str) -> None:
    """A new connector keeps item 4: a column named as a date is checked as one (a pattern),
    not just as text, whether or not its block keeps it."""
    properties = load_schema(schema).get("properties", {})
    unchecked = [
        name
        for name, rule in properties.items()
        if _DATE_NAME.search(name) and "pattern" not in rule and "format" not in rule
    ]
    assert not unchecked, f"{schema}: date columns with no pattern: {unchecked}"
