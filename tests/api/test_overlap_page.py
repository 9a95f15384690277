"""``Db.overlap_page`` against brute force: blocks of many widths (scopes holding 2 to 10
span classes, so that the query takes many shapes), random ranges, paged with the
cursor at small page sizes, with and without the registry/status filters."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from api_world import block
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaregistry.api.queries import MIN_KEY, Db
from metaregistry.api.reader import Reader
from metaregistry.index.store import upsert_blocks

# scope -> how many powers of two its blocks' widths are drawn from (each width may be one
# more, so a scope holds up to one class more than this)
SCOPES = {"one": 1, "three": 3, "five": 5, "nine": 9}
STATUSES = ("issued", "retired")


def _blocks() -> list[Any]:
    rng = random.Random(5)
    out = []
    for scope, classes in SCOPES.items():
        widths = [1 << k for k in range(classes)]  # span classes 1..classes (width-1 bits)
        for i in range(40):
            width = rng.choice(widths) + rng.randrange(0, 2)
            start = rng.randrange(0, 600)
            registry = rng.choice(("verra", "tccr"))
            out.append(
                block(
                    registry,
                    f"{scope}-{i}",
                    f"S-{scope}-{i}",
                    start,
                    start + width - 1,
                    rng.choice(STATUSES),
                    scheme="tst",
                    scope=scope,
                )
            )
    return out


BLOCKS = _blocks()


@pytest.fixture
def db_reader(engine: sa.Engine) -> Iterator[Reader]:
    with engine.begin() as conn:
        upsert_blocks(conn, BLOCKS, connector="test")
    reader = Reader(engine, threads=1, timeout=5)
    yield reader
    reader.close()


def _expected(
    scope: str, start: int, end: int, registry: str | None, status: str | None
) -> list[tuple[int, str]]:
    hits = [
        b
        for b in BLOCKS
        if b.scope == scope
        and b.block_start <= end
        and b.block_end >= start
        and (registry is None or b.registry == registry)
        and (status is None or b.status == status)
    ]
    return sorted((b.block_start, b.record_id) for b in hits)


def _paged(
    reader: Reader, scope: str, start: int, end: int, limit: int, **filters: Any
) -> list[tuple[int, str]]:
    got: list[tuple[int, str]] = []
    after = MIN_KEY
    while True:
        rows = reader.call(
            Db.overlap_page, "tst", scope, start, end, after=after, limit=limit, **filters
        )
        got.extend((int(r["block_start"]), r["record_id"]) for r in rows)
        if len(rows) < limit:
            return got
        after = (int(rows[-1]["block_start"]), int(rows[-1]["id"]))


def test_every_scope_holds_the_span_classes_planned(db_reader: Reader) -> None:
    for scope, classes in SCOPES.items():
        found = db_reader.call(Db.span_classes, "tst", scope)
        assert len(found) >= classes, (scope, found)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    scope=st.sampled_from(sorted(SCOPES)),
    start=st.integers(-10, 1200),
    length=st.integers(0, 700),
    limit=st.integers(1, 7),
    registry=st.sampled_from([None, "verra", "tccr"]),
    status=st.sampled_from([None, *STATUSES]),
)
def test_overlap_pages_equal_brute_force(
    db_reader: Reader,
    scope: str,
    start: int,
    length: int,
    limit: int,
    registry: str | None,
    status: str | None,
) -> None:
    end = start + length
    want = _expected(scope, start, end, registry, status)
    got = _paged(db_reader, scope, start, end, limit, registry=registry, status=status)
    # (block_start, record_id) pairs; ties on block_start come in id order, so compare sets
    # and the order of block_start.
    assert sorted(got) == want
    assert [s for s, _ in got] == sorted(s for s, _ in got)


def test_a_scope_unknown_to_the_index_has_no_blocks(db_reader: Reader) -> None:
    assert db_reader.call(Db.overlap_page, "tst", "absent", 0, 10**6, limit=5) == []
