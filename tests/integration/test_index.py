"""The index on the run's backend: migrations, idempotent upsert with history, range queries."""

from __future__ import annotations

import random

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaregistry.canonical import hash_json
from metaregistry.index import store
from metaregistry.index.db import create_engine, migrate
from metaregistry.index.metadata import metadata
from metaregistry.model import UnitBlock


def make_block(record_id: str, start: int, end: int, **extra: object) -> UnitBlock:
    values: dict[str, object] = {
        "registry": "verra",
        "record_id": record_id,
        "serial": f"S-{record_id}",
        "scheme": "vcs",
        "scope": "",
        "block_start": start,
        "block_end": end,
        "quantity": end - start + 1,
        "status": "issued",
    }
    values.update(extra)
    block = UnitBlock(**values)  # type: ignore[arg-type]
    block.record_hash = hash_json(block.content())
    block.raw_hash = hash_json({"id": record_id})
    block.observed_at = "2026-11-27T00:00:00.000000Z"
    return block


def test_migrations_create_exactly_the_metadata(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrate_twice_is_a_no_op_and_keeps_data(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        store.upsert_blocks(conn, [make_block("a", 1, 5)], connector="t")
    migrate(engine)
    with engine.connect() as conn:
        assert store.get_block(conn, "verra", "a") is not None


def test_upsert_is_idempotent_and_keeps_history(engine: sa.Engine) -> None:
    first = make_block("a", 1, 10)
    with engine.begin() as conn:
        result = store.upsert_blocks(conn, [first, make_block("b", 11, 20)], connector="t")
    assert (result.inserted, result.changed, result.unchanged) == (2, 0, 0)
    with engine.begin() as conn:
        again = store.upsert_blocks(conn, [first], connector="t")
    assert (again.inserted, again.changed, again.unchanged) == (0, 0, 1)
    retired = make_block("a", 1, 10, status="retired", status_reason="for tokenization")
    with engine.begin() as conn:
        changed = store.upsert_blocks(conn, [retired], connector="t", fetch_previous=True)
    assert changed.changed == 1
    assert changed.versions[0].version == 2
    assert changed.versions[0].previous is not None
    assert changed.versions[0].previous.status == "issued"
    with engine.connect() as conn:
        versions = store.history(conn, "verra", "a")
        current = store.get_block(conn, "verra", "a")
    assert [(v, b.status) for v, b in versions] == [(1, "issued"), (2, "retired")]
    assert current is not None and current.status == "retired"


def test_a_key_repeated_within_one_page_gives_versions_in_order(engine: sa.Engine) -> None:
    page = [make_block("x", 1, 2), make_block("x", 1, 2, status="retired")]
    with engine.begin() as conn:
        store.upsert_blocks(conn, page, connector="t")
        assert [b.status for _, b in store.history(conn, "verra", "x")] == ["issued", "retired"]


def test_overlapping_matches_brute_force(engine: sa.Engine) -> None:
    rng = random.Random(7)
    blocks = []
    for i in range(400):
        start = rng.randrange(0, 100_000)
        length = rng.choice([1, 2, 10, 300, 5000, 40_000])
        blocks.append(make_block(f"r{i}", start, start + length - 1))
    blocks.append(make_block("huge", 0, 2**62))
    with engine.begin() as conn:
        store.upsert_blocks(conn, blocks, connector="t")
        for _ in range(60):
            a = rng.randrange(0, 110_000)
            b = a + rng.choice([0, 5, 500, 20_000])
            got = {x.record_id for x in store.overlapping(conn, "vcs", "", a, b)}
            want = {x.record_id for x in blocks if x.block_start <= b and x.block_end >= a}
            assert got == want
        assert store.overlapping(conn, "gs", "", 0, 10) == []


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    ranges=st.lists(
        st.tuples(st.integers(0, 2**40), st.integers(0, 2**20)), min_size=1, max_size=12
    ),
    query=st.tuples(st.integers(0, 2**40), st.integers(0, 2**21)),
)
def test_overlapping_property(
    engine: sa.Engine, ranges: list[tuple[int, int]], query: tuple[int, int]
) -> None:
    blocks = [make_block(f"p{i}", s, s + n) for i, (s, n) in enumerate(ranges)]
    a, n = query
    with engine.begin() as conn:
        conn.execute(store.unit_block.delete())
        conn.execute(store.unit_block_version.delete())
        store.upsert_blocks(conn, blocks, connector="t")
        got = {x.record_id for x in store.overlapping(conn, "vcs", "", a, a + n)}
    assert got == {x.record_id for x in blocks if x.block_start <= a + n and x.block_end >= a}


def test_range_query_uses_the_index(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        store.upsert_blocks(
            conn, [make_block(f"e{i}", i * 10, i * 10 + 9) for i in range(50)], connector="t"
        )
        params = store.overlap_params("vcs", "", 100, 200)
        compiled = store._OVERLAP.compile(conn, compile_kwargs={})
        sql = str(compiled)
        bound = {k: params.get(k, v) for k, v in compiled.params.items()}
        if conn.dialect.name == "sqlite":
            plan = " ".join(
                str(r)
                for r in conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {sql}", tuple(bound[k] for k in compiled.positiontup or [])
                )
            )
            assert "ix_unit_block_range" in plan
            assert "SCAN unit_block" not in plan.replace("USING INDEX", "")
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, bound))
            assert "ix_unit_block_range" in plan


def test_readonly_engine_refuses_writes(db_url: str, engine: sa.Engine) -> None:
    reader = create_engine(db_url, readonly=True)
    try:
        with reader.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(store.unit_block)).scalar() == 0
            )
            try:
                conn.execute(store.unit_block.delete())
                conn.commit()
            except sa.exc.DBAPIError as exc:
                assert "read" in str(exc).lower()
            else:
                raise AssertionError("a read-only engine accepted a write")
    finally:
        reader.dispose()
