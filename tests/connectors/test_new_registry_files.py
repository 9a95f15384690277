"""The real Cercarbono, Regen and Stellarcarbon files import whole: every row stored, with the
quantities and statuses of the file's own columns (summed here from the CSV itself), nothing
quarantined. Runs on the run's database backend (SQLite or PostgreSQL)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from metaregistry.cli import main
from metaregistry.index import store
from metaregistry.model import UnitBlock

pytestmark = pytest.mark.realdata

CERCARBONO = "carbonplan-offsetsdb/cercarbono"
STELLAR = "stellarcarbon-sc-data"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def imported(db_url: str, connector: str, path: Path) -> list[UnitBlock]:
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    result = CliRunner().invoke(main, ["import", connector, str(path), "--no-detect"], env=env)
    assert result.exit_code == 0, result.output
    count = len(rows(path))
    assert f"{count} records, {count} written, 0 unchanged, 0 quarantined" in result.output
    from metaregistry.index.db import create_engine

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(store.blocks(conn))
    finally:
        engine.dispose()


def column_sum(table: list[dict[str, str]], name: str) -> int:
    return sum(int(row[name]) for row in table)


def by_status(blocks: list[UnitBlock]) -> dict[str, tuple[int, int]]:
    """status -> (records, units)."""
    counts: Counter[str] = Counter()
    units: Counter[str] = Counter()
    for block in blocks:
        counts[block.status] += 1
        units[block.status] += block.quantity
    return {status: (counts[status], units[status]) for status in counts}


Check = Callable[[list[dict[str, str]], list[UnitBlock]], None]


def cercarbono_issuances(table: list[dict[str, str]], blocks: list[UnitBlock]) -> None:
    buffer = [row for row in table if row["is_buffer"] == "True"]
    issued = [row for row in table if row["is_buffer"] == "False"]
    assert len(buffer) + len(issued) == len(table)
    assert by_status(blocks) == {
        "buffer": (len(buffer), column_sum(buffer, "issued_quantity")),
        "issued": (len(issued), column_sum(issued, "issued_quantity")),
    }
    assert {b.record_id for b in blocks} == {row["serial"] for row in table}


def cercarbono_retirements(table: list[dict[str, str]], blocks: list[UnitBlock]) -> None:
    assert by_status(blocks) == {"retired": (len(table), column_sum(table, "quantity"))}
    # Numbered by the export's own positions, inside the batch serial.
    assert sorted((b.scope, b.block_start, b.block_end) for b in blocks) == sorted(
        (row["serial"], int(row["from"]), int(row["to"])) for row in table
    )


def regen_batches(table: list[dict[str, str]], blocks: list[UnitBlock]) -> None:
    assert by_status(blocks) == {"issued": (len(table), column_sum(table, "quantity_derived"))}
    assert sorted((b.record_id, b.origin, b.block_start, b.block_end) for b in blocks) == sorted(
        (
            row["regen_batch_metadata_file"],
            row["vcs_retirement_serial_number"],
            int(row["block_start"]),
            int(row["block_end"]),
        )
        for row in table
    )
    assert {b.scheme for b in blocks} == {"vcs"}


def stellar_minted(table: list[dict[str, str]], blocks: list[UnitBlock]) -> None:
    units = sum(int(row["block_end"]) - int(row["block_start"]) + 1 for row in table)
    assert by_status(blocks) == {"issued": (len(table), units)}
    assert sorted((b.record_id, b.origin, b.block_start, b.block_end) for b in blocks) == sorted(
        (row["serial_hash"], row["serial_number"], int(row["block_start"]), int(row["block_end"]))
        for row in table
    )
    assert all("11273 (CARBON Pool | stellarcarbon.io)" in (b.status_reason or "") for b in blocks)


def stellar_retirements(table: list[dict[str, str]], blocks: list[UnitBlock]) -> None:
    assert by_status(blocks) == {"retired": (len(table), column_sum(table, "vcu_amount"))}
    assert {b.record_id for b in blocks} == {f"certificate {r['certificate_id']}" for r in table}
    assert {b.status_date for b in blocks} == {r["retirement_date"][:10] for r in table}


FILES: list[tuple[str, str, Check]] = [
    ("cercarbono", f"{CERCARBONO}/issuances.csv", cercarbono_issuances),
    ("cercarbono", f"{CERCARBONO}/retirements.csv", cercarbono_retirements),
    ("regen", "regen-c01-verra-bridge/c01_credit_batches.csv", regen_batches),
    ("stellar", f"{STELLAR}/minted_blocks.csv", stellar_minted),
    ("stellar", f"{STELLAR}/retirements.csv", stellar_retirements),
]


@pytest.mark.parametrize(("connector", "relative", "check"), FILES, ids=[f[1] for f in FILES])
def test_a_real_file_imports_with_its_own_counts_and_sums(
    real_data: Path, db_url: str, connector: str, relative: str, check: Check
) -> None:
    path = real_data / relative
    blocks = imported(db_url, connector, path)
    assert {b.registry for b in blocks} == {connector}
    check(rows(path), blocks)


@pytest.mark.parametrize(
    ("connector", "relative"),
    [
        ("stellar", f"{STELLAR}/retirement_from_block.csv"),
        ("stellar", f"{STELLAR}/sink_status.csv"),
        ("cercarbono", "regen-c01-verra-bridge/c01_credit_batches.csv"),
        ("regen", f"{CERCARBONO}/issuances.csv"),
    ],
)
def test_a_file_of_another_kind_is_refused_naming_its_columns(
    real_data: Path, db_url: str, connector: str, relative: str
) -> None:
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    path = real_data / relative
    result = CliRunner().invoke(main, ["import", connector, str(path), "--no-detect"], env=env)
    assert result.exit_code != 0
    assert "Columns found" in result.output


def test_the_same_file_again_changes_nothing(real_data: Path, db_url: str) -> None:
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    path = str(real_data / CERCARBONO / "retirements.csv")
    runner = CliRunner()
    first = runner.invoke(main, ["import", "cercarbono", path, "--no-detect"], env=env)
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["import", "cercarbono", path, "--no-detect"], env=env)
    assert "100 records, 0 written, 100 unchanged" in again.output
