"""PostgreSQL statistics are refreshed after a write that is a large share of the index."""

from __future__ import annotations

import sqlalchemy as sa

from metaregistry.canonical import hash_json, sha256_hex
from metaregistry.index.db import create_engine, migrate, refresh_statistics
from metaregistry.index.store import upsert_blocks
from metaregistry.model import UnitBlock


def _blocks(first: int, count: int) -> list[UnitBlock]:
    out = []
    for i in range(first, first + count):
        block = UnitBlock(
            registry="tccr",
            record_id=f"r{i}",
            serial=f"S-{i}",
            scheme="tver",
            scope="01",
            block_start=i * 10,
            block_end=i * 10 + 9,
            quantity=10,
            status="issued",
            observed_at="2026-01-02T03:04:05Z",
            raw_hash=sha256_hex(f"raw {i}".encode()),
        )
        block.record_hash = hash_json(block.content())
        out.append(block)
    return out


def _reltuples(engine: sa.Engine, table: str) -> float:
    with engine.connect() as conn:
        value = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE relname = %(t)s", {"t": table}
        ).scalar()
    return float(value)


def test_postgresql_tables_are_analyzed_after_a_large_write(pg_url: str) -> None:
    engine = create_engine(pg_url)
    migrate(engine)
    try:
        with engine.begin() as conn:
            upsert_blocks(conn, _blocks(0, 50), connector="tccr")
        assert _reltuples(engine, "unit_block") <= 0  # never analyzed
        assert refresh_statistics(engine, 50) == []  # under min_rows
        assert _reltuples(engine, "unit_block") <= 0
        analyzed = refresh_statistics(engine, 50, min_rows=10)
        assert {"unit_block", "unit_block_version", "raw_record"} <= set(analyzed)
        assert _reltuples(engine, "unit_block") == 50
        assert _reltuples(engine, "unit_block_version") == 50
        with engine.begin() as conn:
            upsert_blocks(conn, _blocks(50, 4), connector="tccr")
        # 4 new versions are under a tenth of the 50 counted: left to autovacuum
        assert refresh_statistics(engine, 4, min_rows=1) == []
        assert _reltuples(engine, "unit_block") == 50
        with engine.begin() as conn:
            upsert_blocks(conn, _blocks(54, 6), connector="tccr")
        assert refresh_statistics(engine, 10, min_rows=1)
        assert _reltuples(engine, "unit_block") == 60
    finally:
        engine.dispose()


def test_sqlite_needs_no_statistics(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    migrate(engine)
    try:
        assert refresh_statistics(engine, 10**6, min_rows=1) == []
    finally:
        engine.dispose()
