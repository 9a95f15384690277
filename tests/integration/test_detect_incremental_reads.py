"""The reads an incremental detection run starts from, on the run's database backend: the
changed records and the places to check for them, and stored rows found by record key (a
small table read whole, a large one through its index: both must find the same rows)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from metaregistry.detect import driver, lifecycle
from metaregistry.detect.changes import changes_after
from metaregistry.detect.tables import alert_side_table, block_link_table
from metaregistry.index import store
from metaregistry.ingest import max_version_id
from metaregistry.model import UnitBlock

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "detect"))
from detect_support import block

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _put(engine: sa.Engine, *blocks: UnitBlock) -> int:
    with engine.begin() as conn:
        since = max_version_id(conn)
        store.upsert_blocks(conn, list(blocks), connector="test")
    return since


def test_changes_name_where_records_lie_now_and_lay_before(engine: sa.Engine) -> None:
    _put(
        engine,
        block("verra", "moved", 100, 199, "issued"),
        block("verra", "gone", 300, 399, "issued"),
        block("verra", "restated", 500, 599, "issued"),
        block("verra", "twice", 700, 799, "issued"),
        block("verra", "was-withdrawn", 900, 949, "withdrawn"),
        block("verra", "untouched", 1000, 1099, "issued"),
    )
    since = _put(
        engine,
        block("verra", "moved", 150, 249, "issued"),
        block("verra", "gone", 300, 399, "withdrawn"),
        block("verra", "restated", 500, 599, "retired"),
        block("verra", "twice", 710, 809, "issued"),
        block("verra", "was-withdrawn", 900, 949, "issued"),
        block("srn-ppi", "new", 1, 10, "issued", scope="b2"),
    )
    _put(engine, block("verra", "twice", 720, 819, "retired"))
    with engine.connect() as conn:
        changes = changes_after(conn, since)
        newest = max_version_id(conn)
    assert changes.upto == newest
    assert changes.keys == {
        ("verra", k) for k in ("moved", "gone", "restated", "twice", "was-withdrawn")
    } | {("srn-ppi", "new")}
    # Now (unless withdrawn) and before (unless withdrawn then, or the same place); a record
    # changed twice counts from where it was as of ``since``.
    assert sorted(changes.seeds) == sorted(
        [
            ("vcs", "", 150, 249),
            ("vcs", "", 100, 199),
            ("vcs", "", 300, 399),
            ("vcs", "", 500, 599),
            ("vcs", "", 720, 819),
            ("vcs", "", 700, 799),
            ("vcs", "", 900, 949),
            ("vcs", "b2", 1, 10),
        ]
    )


def test_changes_after_the_newest_version_are_none(engine: sa.Engine) -> None:
    _put(engine, block("verra", "a", 1, 5, "issued"))
    with engine.connect() as conn:
        since = max_version_id(conn)
        changes = changes_after(conn, since)
    assert (changes.keys, changes.seeds, changes.upto) == (set(), [], since)


def _link(i: int, source: str, target: str) -> dict[str, object]:
    return {
        "id": f"ln_{i}",
        "kind": "conversion",
        "rule": "r",
        "scheme": "vcs",
        "scope": "",
        "source_registry": "verra",
        "source_record_id": source,
        "source_serial": "s",
        "target_registry": "srn-ppi",
        "target_record_id": target,
        "target_serial": "t",
        "overlap_start": i,
        "overlap_end": i,
        "overlap_size": 1,
        "explanation": "e",
        "first_seen_at": T0,
        "updated_at": T0,
    }


def test_rows_of_keys_reads_a_small_table_whole_and_a_large_one_by_key(
    engine: sa.Engine,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            alert_side_table.insert(),
            [
                {"alert_id": f"al_{i}", "registry": "verra", "record_id": f"v{i % 7}"}
                for i in range(40)
            ],
        )
        conn.execute(block_link_table.insert(), [_link(i, f"v{i}", f"s{i % 3}") for i in range(12)])
    keys = {("verra", "v1"), ("verra", "v3"), ("srn-ppi", "s2"), ("gs", "v1")}
    # Enough keys that match nothing to outnumber either table: the other way of reading.
    padded = keys | {("nowhere", str(i)) for i in range(100)}
    with engine.connect() as conn:
        sides = (("registry", "record_id"),)
        by_key = driver.rows_of_keys(conn, "alert_side", ("alert_id",), sides, keys)
        whole = driver.rows_of_keys(conn, "alert_side", ("alert_id",), sides, padded)
        links_by_key = driver.rows_of_keys(conn, "block_link", ("id",), lifecycle.LINK_SIDES, keys)
        links_whole = driver.rows_of_keys(conn, "block_link", ("id",), lifecycle.LINK_SIDES, padded)
        assert driver.rows_of_keys(conn, "alert_side", ("alert_id",), sides, set()) == []
    expected = {(f"al_{i}",) for i in range(40) if i % 7 in (1, 3)}
    assert set(by_key) == set(whole) == expected
    expected_links = {(f"ln_{i}",) for i in range(12) if i in (1, 3) or i % 3 == 2}
    assert set(links_by_key) == set(links_whole) == expected_links


def test_jit_is_off_for_the_run_and_the_callers_setting_comes_back(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    show = "SELECT current_setting('jit')"
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL jit = on")
        with driver.jit_off(conn):
            assert conn.exec_driver_sql(show).scalar() == "off"
        assert conn.exec_driver_sql(show).scalar() == "on"
