"""Detection on the real registry samples (read in place from ../shared/data/real).

* Verra's transactions export: the split batches (a retired sub-range next to the still-issued
  rest of the same batch) are adjacent, not overlapping: no alert.
* Gold Standard's exports list a batch as issued and, separately, a retirement inside it
  (batches 30255, 30256): not an internal overlap, no alert. Moss's MCO2 sub-account holdings:
  no alert either.
* The bridges: Regen Ledger C01 batches carry the Verra retirement serial they were minted
  from; Stellarcarbon minted tokens on Verra blocks and retired sub-ranges of them in Verra.
  Against those retirements the tokens are tokenization links, not alerts.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import sqlalchemy as sa

from metaregistry import plugins
from metaregistry.detect.alerts import list_alerts, list_links
from metaregistry.detect.engine import detect_full
from metaregistry.index import store
from metaregistry.ingest import chunked, store_page, utc_stamp
from metaregistry.model import UnitBlock
from metaregistry.serials import parse_serial

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "detect"))
from detect_support import block


def _import(engine: sa.Engine, connector_name: str, path: Path) -> None:
    connector = plugins.load(connector_name)
    for chunk in chunked(connector.read_file(path), 500):
        with engine.begin() as conn:
            result = store_page(conn, connector, chunk, observed_at=utc_stamp())
        assert result.quarantined == []


def _vcs(registry: str, record_id: str, serial: str, status: str, **fields: str) -> UnitBlock:
    parsed = parse_serial(serial)
    return block(
        registry,
        record_id,
        parsed.block_start,
        parsed.block_end,
        status,
        scheme=parsed.scheme,
        scope=parsed.scope,
        serial=serial,
        **fields,
    )


def _put(engine: sa.Engine, blocks: list[UnitBlock]) -> None:
    with engine.begin() as conn:
        store.upsert_blocks(conn, blocks, connector="test")


def test_real_exports_raise_no_alert(engine: sa.Engine, real_data: Path) -> None:
    offsets = real_data / "carbonplan-offsetsdb"
    _import(engine, "verra", offsets / "verra" / "transactions.csv")
    _import(engine, "verra", real_data / "moss-mco2-verra" / "mco2_verra_subaccount_holdings.csv")
    _import(engine, "gold-standard", offsets / "gold-standard" / "issuances.csv")
    _import(engine, "gold-standard", offsets / "gold-standard" / "retirements.csv")
    summary = detect_full(engine)
    assert summary.blocks_checked == 561
    with engine.connect() as conn:
        assert list_alerts(conn) == []
        assert list_links(conn) == []
        # The split batch of the PROVENANCE note is there, in two adjacent records.
        unit_block = store.unit_block
        rows = conn.execute(
            sa.select(unit_block.c.block_start, unit_block.c.block_end, unit_block.c.status)
            .where(unit_block.c.serial.like("19380-%"))
            .order_by(unit_block.c.block_start)
        ).all()
        # Batch 30256: issued 1-5485 and retired 110-5463 in the two Gold Standard exports.
        gs = conn.execute(
            sa.select(unit_block.c.block_start, unit_block.c.block_end, unit_block.c.status)
            .where(unit_block.c.scheme == "gs", unit_block.c.scope == "30256")
            .order_by(unit_block.c.block_start)
        ).all()
    assert (941382555, 941382741, "retired") in rows
    assert any(start == 941382742 and status == "issued" for start, _, status in rows)
    assert [tuple(r) for r in gs] == [(1, 5485, "issued"), (110, 5463, "retired")]


def test_regen_c01_batches_are_tokenization_links(engine: sa.Engine, real_data: Path) -> None:
    path = real_data / "regen-c01-verra-bridge" / "c01_credit_batches.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    retirements = [
        # The Verra retirement's reason is not in the sample; Verra lists bridge retirements
        # with details naming the bridge, as its "retired for tokenization" rows do.
        _vcs(
            "verra",
            row["vcs_retirement_serial_number"],
            row["vcs_retirement_serial_number"],
            "retired",
            status_reason="Retired for bridging to Regen Ledger (C01)",
        )
        for row in rows
    ]
    batches = [
        _vcs(
            "regen",
            row["regen_batch_metadata_file"],
            row["vcs_retirement_serial_number"],
            "issued",
            origin=row["vcs_retirement_serial_number"],
        )
        for row in rows
    ]
    _put(engine, retirements + batches)
    detect_full(engine)
    with engine.connect() as conn:
        assert list_alerts(conn) == []
        links = list_links(conn)
    assert len(links) == 13
    assert {(link["kind"], link["source_registry"], link["target_registry"]) for link in links} == {
        ("tokenization", "verra", "regen")
    }
    # The six back-to-back 934 batches stay six links: adjacent ranges never overlap.
    assert sum(1 for link in links if link["target_record_id"].startswith("C01-001")) == 6


def test_regen_batch_against_a_claimed_retirement_is_flagged(
    engine: sa.Engine, real_data: Path
) -> None:
    path = real_data / "regen-c01-verra-bridge" / "c01_credit_batches.csv"
    with path.open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    serial = row["vcs_retirement_serial_number"]
    claimed = _vcs("verra", serial, serial, "retired", status_reason="Environmental Benefit")
    batch = _vcs("regen", "C01", serial, "issued", origin=serial)
    _put(engine, [claimed, batch])
    detect_full(engine)
    with engine.connect() as conn:
        (alert,) = list_alerts(conn)
    assert alert["kind"] == "use_after_transfer"
    assert serial in alert["explanation"] and "regen" in alert["explanation"]


def test_stellarcarbon_tokens_and_their_verra_retirements(
    engine: sa.Engine, real_data: Path
) -> None:
    folder = real_data / "stellarcarbon-sc-data"
    with (folder / "minted_blocks.csv").open(encoding="utf-8") as handle:
        minted = list(csv.DictReader(handle))
    with (folder / "retirements.csv").open(encoding="utf-8") as handle:
        retired = list(csv.DictReader(handle))
    tokens = [
        _vcs(
            "stellarcarbon",
            row["serial_hash"],
            row["serial_number"],
            "issued",
            origin=row["serial_number"],
        )
        for row in minted
    ]
    retirements = [
        _vcs(
            "verra",
            row["certificate_id"],
            row["serial_number"],
            "retired",
            status_reason=f"{row['retirement_beneficiary']}; {row['retirement_details']}",
            status_date=row["retirement_date"][:10],
        )
        for row in retired
    ]
    _put(engine, tokens + retirements)
    detect_full(engine)
    with engine.connect() as conn:
        assert list_alerts(conn) == []
        links = list_links(conn)
    assert {link["kind"] for link in links} == {"tokenization"}
    # Every retirement lies inside a minted block: each is the source of exactly one link.
    assert sorted(link["source_record_id"] for link in links) == sorted(
        row["certificate_id"] for row in retired
    )
