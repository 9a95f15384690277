"""``ingest_records``: pages prepared in one thread and stored in another, on the run's
backend. What a user sees: every record stored once, an unchanged re-run writing nothing, a
changed record becoming a new version, bad records quarantined, and a reader's error raised
after the pages before it were committed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from metaregistry.connector import Connector, FatalSourceError, RawRecord
from metaregistry.index import store
from metaregistry.ingest import PageResult, ingest_records
from metaregistry.log import store as log_store
from metaregistry.model import UnitBlock


class Counting(Connector):
    name = "counting"
    registries = ("counting",)

    def normalize(self, record: RawRecord) -> UnitBlock:
        p = record.payload
        start = int(p["start"])
        return UnitBlock(
            registry="counting",
            record_id=str(p["id"]),
            serial=f"C-{start}",
            scheme="counting",
            scope="",
            block_start=start,
            block_end=start + int(p.get("size", 10)) - 1,
            quantity=int(p.get("size", 10)),
            status=str(p.get("status", "issued")),
        )


def _records(n: int, **changes: object) -> list[RawRecord]:
    return [
        RawRecord({"id": f"r{i}", "start": i * 100, **changes.get(f"r{i}", {})}, f"t:{i}")  # type: ignore[dict-item]
        for i in range(n)
    ]


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_every_record_is_stored_once_and_an_unchanged_rerun_writes_nothing(
    engine: sa.Engine,
) -> None:
    first = ingest_records(engine, Counting(), _records(23), page_size=5)
    assert (first.pages, first.seen, first.written, first.unchanged) == (5, 23, 23, 0)
    again = ingest_records(engine, Counting(), _records(23), page_size=5)
    assert (again.seen, again.written, again.unchanged) == (23, 0, 23)
    assert _count(engine, store.unit_block) == 23
    assert _count(engine, store.unit_block_version) == 23
    with engine.connect() as conn:
        assert log_store.tree_size(conn) == 23


def test_a_changed_record_becomes_a_new_version(engine: sa.Engine) -> None:
    ingest_records(engine, Counting(), _records(8), page_size=3)
    changed = _records(8, r5={"status": "retired"})
    report = ingest_records(engine, Counting(), changed, page_size=3)
    assert (report.written, report.unchanged) == (1, 7)
    with engine.connect() as conn:
        assert [b.status for _, b in store.history(conn, "counting", "r5")] == [
            "issued",
            "retired",
        ]


def test_bad_records_are_quarantined_and_reported_per_page(engine: sa.Engine) -> None:
    records = _records(6, r2={"size": 0}, r4={"status": "burnt"})
    seen: list[PageResult] = []
    report = ingest_records(engine, Counting(), records, page_size=4, on_page=seen.append)
    assert report.quarantined == 2 and report.written == 4
    assert sorted(q.ref for page in seen for q in page.quarantined) == ["t:2", "t:4"]
    assert _count(engine, store.quarantine_table) == 2


def test_a_reader_error_is_raised_after_the_pages_before_it_are_stored(
    engine: sa.Engine,
) -> None:
    def broken() -> Iterator[RawRecord]:
        yield from _records(7)
        raise FatalSourceError("export.csv: cut off at line 8")

    with pytest.raises(FatalSourceError, match="cut off"):
        ingest_records(engine, Counting(), broken(), page_size=3)
    assert _count(engine, store.unit_block) == 6  # two full pages; the third never completed
