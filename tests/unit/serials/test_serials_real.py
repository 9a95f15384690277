"""Every serial in the real registry exports parses, and agrees with its own row.

The quantity of each parsed range must equal the file's own quantity column; project, vintage
and country must agree with the columns that state them.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from metaregistry.serials import ParsedSerial, grammars, parse_gs_columns, parse_serial

pytestmark = pytest.mark.realdata

Row = dict[str, str]


def rows(real_data: Path, relative: str) -> list[Row]:
    with (real_data / relative).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def whole(cell: str) -> int:
    """A quantity as exported: ``"28,571"`` or ``"46404"``."""
    return int(cell.replace(",", ""))


def reference(text: str, parsed: ParsedSerial) -> ParsedSerial:
    """The grammar's token-by-token reader on the same text (the fast path's reference)."""
    grammar = next(g for g in grammars() if g.family == parsed.family)
    read_tokens: Callable[[str], ParsedSerial] | None = getattr(grammar, "read_tokens", None)
    return parsed if read_tokens is None else read_tokens(text.strip())


def check_verra(row: Row, parsed: ParsedSerial) -> None:
    assert parsed.scheme == "vcs"
    assert parsed.project_id == f"VCS{row['ID']}"
    assert (parsed.vintage_start, parsed.vintage_end) == (row["Vintage Start"], row["Vintage End"])


def check_gs(row: Row, parsed: ParsedSerial) -> None:
    if row["Product Type"] == "CER":
        # CDM CERs that moved to Gold Standard keep their Kyoto serial and numbering.
        assert (parsed.family, parsed.scheme, parsed.scope) == ("cdm", "cdm", "RW-5")
        assert parsed.project_id == "CDM7014"
        return
    assert (parsed.family, parsed.scheme) == ("gold-standard", "gs")
    assert parsed.scope == parsed.batch
    assert parsed.project_id == f"GS{row['GSID']}"
    assert parsed.vintage_start == f"{row['Vintage']}-01-01"
    assert parsed.vintage_end == f"{row['Vintage']}-12-31"


def check_moss(row: Row, parsed: ParsedSerial) -> None:
    assert parsed.project_id == f"VCS{row['Project ID']}"
    begin, _, end = row["Vintage"].partition("-")  # 01/07/2014-31/12/2014
    assert parsed.vintage_start == "-".join(reversed(begin.split("/")))
    assert parsed.vintage_end == "-".join(reversed(end.split("/")))


def check_stellar(row: Row, parsed: ParsedSerial) -> None:
    assert parsed.project_id == f"VCS{row['vcs_project_id']}"
    assert parsed.vintage_start == row["vintage_start"][:10]
    assert parsed.vintage_end == row["vintage_end"][:10]


def check_regen(row: Row, parsed: ParsedSerial) -> None:
    assert parsed.project_id == f"VCS{row['vcs_project_id']}"
    assert (parsed.block_start, parsed.block_end) == (
        int(row["block_start"]),
        int(row["block_end"]),
    )


def check_acr(row: Row, parsed: ParsedSerial) -> None:
    assert (parsed.scheme, parsed.scope) == ("acr", parsed.batch)
    assert parsed.project_id == row["Project ID"]
    assert parsed.vintage_start == f"{row['Vintage']}-01-01"
    assert parsed.country == row["Project Site Country"]


def check_car(row: Row, parsed: ParsedSerial) -> None:
    assert (parsed.scheme, parsed.scope) == ("car", parsed.batch)
    assert parsed.project_id == row["Project ID"]
    assert parsed.vintage_start == f"{row['Vintage']}-01-01"
    # ROC (compliance) units are exactly the rows of ARB / WA ECO compliance project types.
    assert (parsed.extra("unit_type") == "ROC") == ("Compliance" in row["Project Type"])


def check_art(row: Row, parsed: ParsedSerial) -> None:
    serial = row["Credit Serial Numbers"]
    assert parsed.scheme == ("fcpf" if serial.startswith("FCPF-") else "art")
    assert parsed.project_id == row["Program ID"]
    assert parsed.vintage_start == f"{row['Vintage']}-01-01"


# (file, serial column, quantity of the row, family the serials must have, row check)
FILES: list[tuple[str, str, Callable[[Row], int], set[str], Callable[[Row, ParsedSerial], None]]]
FILES = [
    (
        "carbonplan-offsetsdb/verra/transactions.csv",
        "Serial Number",
        lambda row: whole(row["Quantity Issued"]),
        {"verra"},
        check_verra,
    ),
    (
        "carbonplan-offsetsdb/gold-standard/issuances.csv",
        "Serial Number",
        lambda row: whole(row["Quantity"]),
        {"gold-standard", "cdm"},
        check_gs,
    ),
    (
        "carbonplan-offsetsdb/gold-standard/retirements.csv",
        "Serial Number",
        lambda row: whole(row["Quantity"]),
        {"gold-standard"},
        check_gs,
    ),
    (
        "moss-mco2-verra/mco2_verra_subaccount_holdings.csv",
        "Serial Number",
        lambda row: whole(row["Quantity of Credits"]),
        {"verra", "verra-legacy"},
        check_moss,
    ),
    (
        "stellarcarbon-sc-data/minted_blocks.csv",
        "serial_number",
        lambda row: int(row["block_end"]) - int(row["block_start"]) + 1,
        {"verra-legacy"},
        check_stellar,
    ),
    (
        "stellarcarbon-sc-data/retirements.csv",
        "serial_number",
        lambda row: int(row["vcu_amount"]),
        {"verra-legacy"},
        check_stellar,
    ),
    (
        "regen-c01-verra-bridge/c01_credit_batches.csv",
        "vcs_retirement_serial_number",
        lambda row: int(row["quantity_derived"]),
        {"verra", "verra-legacy"},
        check_regen,
    ),
    (
        "carbonplan-offsetsdb/american-carbon-registry/retirements.csv",
        "Credit Serial Numbers",
        lambda row: whole(row["Quantity of Credits"]),
        {"acr"},
        check_acr,
    ),
    (
        "carbonplan-offsetsdb/american-carbon-registry/cancellations.csv",
        "Credit Serial Numbers",
        lambda row: whole(row["Quantity of Credits"]),
        {"acr"},
        check_acr,
    ),
    (
        "carbonplan-offsetsdb/climate-action-reserve/retirements.csv",
        "Offset Credit Serial Numbers",
        lambda row: whole(row["Quantity of Offset Credits"]),
        {"car"},
        check_car,
    ),
    (
        "carbonplan-offsetsdb/climate-action-reserve/cancellations.csv",
        "Offset Credit Serial Numbers",
        lambda row: whole(row["Quantity of Offset Credits"]),
        {"car"},
        check_car,
    ),
    (
        "carbonplan-offsetsdb/art-trees/retirements.csv",
        "Credit Serial Numbers",
        lambda row: whole(row["Quantity of Credits"]),
        {"art"},
        check_art,
    ),
    (
        "carbonplan-offsetsdb/art-trees/cancellations.csv",
        "Credit Serial Numbers",
        lambda row: whole(row["Quantity of Credits"]),
        {"art"},
        check_art,
    ),
]


@pytest.mark.parametrize(
    ("relative", "column", "quantity", "families", "check"),
    FILES,
    ids=[spec[0].rsplit("/", 2)[-2] + "/" + spec[0].rsplit("/", 1)[-1] for spec in FILES],
)
def test_every_real_serial_parses_to_its_rows_quantity(
    real_data: Path,
    relative: str,
    column: str,
    quantity: Callable[[Row], int],
    families: set[str],
    check: Callable[[Row, ParsedSerial], None],
) -> None:
    table = rows(real_data, relative)
    assert table, f"{relative} has no rows"
    for row in table:
        serial = row[column]
        parsed = parse_serial(serial)
        assert parsed.quantity == quantity(row), serial
        assert parsed.family in families, serial
        check(row, parsed)
        assert reference(serial, parsed) == parsed, f"fast path and token reader differ: {serial}"


def real_serials(real_data: Path) -> Iterator[str]:
    for relative, column, *_ in FILES:
        for row in rows(real_data, relative):
            yield row[column]


def test_the_real_files_hold_all_serial_families(real_data: Path) -> None:
    families = Counter(parse_serial(serial).family for serial in real_serials(real_data))
    assert set(families) == {"verra", "verra-legacy", "gold-standard", "cdm", "acr", "car", "art"}
    assert sum(families.values()) >= 900


def test_moss_holds_the_legacy_apx_and_markit_formats(real_data: Path) -> None:
    table = rows(real_data, "moss-mco2-verra/mco2_verra_subaccount_holdings.csv")
    registries = Counter(parse_serial(row["Serial Number"]).extra("registry") for row in table)
    # PROVENANCE.md: 96 rows in the VCU-005-APX format, 5 in VCU-0xx-MER, the rest current.
    assert registries["APX"] == 96
    assert registries["MER"] == 5
    assert registries["VER"] == len(table) - 101


def test_legacy_and_current_verra_numbers_collide_so_their_scopes_differ(real_data: Path) -> None:
    """The reason for scope 'legacy': the current registry restarted its numbering."""
    legacy: list[ParsedSerial] = []
    current: list[ParsedSerial] = []
    for serial in real_serials(real_data):
        parsed = parse_serial(serial)
        if parsed.scheme == "vcs":
            (legacy if parsed.family == "verra-legacy" else current).append(parsed)
    low = min(p.block_start for p in legacy)
    high = max(p.block_end for p in legacy)
    inside = [p for p in current if low <= p.block_start <= high]
    assert inside, "some current-registry blocks carry numbers inside the legacy range"
    assert {p.scope for p in legacy} == {"legacy"}
    assert {p.scope for p in current} == {""}
    assert min(p.block_start for p in current) == 1  # batch 8164 starts again at 1


def test_a_retired_sub_range_adjoins_the_still_issued_rest_of_its_batch(real_data: Path) -> None:
    # PROVENANCE.md: batch 19380 has a retired part next to an issued part.
    table = rows(real_data, "carbonplan-offsetsdb/verra/transactions.csv")
    blocks = sorted(
        (
            parse_serial(row["Serial Number"])
            for row in table
            if row["Serial Number"].startswith("19380-")
        ),
        key=lambda parsed: parsed.block_start,
    )
    assert len(blocks) == 2
    retired, issued = blocks
    assert retired.block_end + 1 == issued.block_start
    assert (retired.scheme, retired.scope) == (issued.scheme, issued.scope)


def test_each_stellar_retirement_lies_inside_the_block_it_came_from(real_data: Path) -> None:
    minted = {
        row["serial_hash"]: parse_serial(row["serial_number"])
        for row in rows(real_data, "stellarcarbon-sc-data/minted_blocks.csv")
    }
    retired = {
        row["certificate_id"]: parse_serial(row["serial_number"])
        for row in rows(real_data, "stellarcarbon-sc-data/retirements.csv")
    }
    links = rows(real_data, "stellarcarbon-sc-data/retirement_from_block.csv")
    assert links
    for link in links:
        block, part = minted[link["block_hash"]], retired[link["retirement_id"]]
        assert (part.scheme, part.scope) == (block.scheme, block.scope)
        assert block.block_start <= part.block_start <= part.block_end <= block.block_end


def test_the_regen_934_batches_are_back_to_back(real_data: Path) -> None:
    table = rows(real_data, "regen-c01-verra-bridge/c01_credit_batches.csv")
    blocks = [
        parse_serial(row["vcs_retirement_serial_number"])
        for row in table
        if row["vcs_project_id"] == "934"
    ]
    assert len(blocks) == 6
    for before, after in itertools.pairwise(blocks):
        assert before.block_end + 1 == after.block_start


@pytest.mark.parametrize("relative", ["issuances.csv", "retirements.csv"])
def test_gs_rows_check_out_against_their_columns(real_data: Path, relative: str) -> None:
    for row in rows(real_data, f"carbonplan-offsetsdb/gold-standard/{relative}"):
        kwargs: dict[str, Any] = {"quantity": row["Quantity"]}
        if row["Product Type"] != "CER":
            kwargs |= {"vintage": row["Vintage"], "gsid": row["GSID"]}
        parsed = parse_gs_columns(row["Serial Number"], **kwargs)
        assert parsed == parse_serial(row["Serial Number"])
