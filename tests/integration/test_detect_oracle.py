"""Full and incremental detection against a brute-force oracle, on random blocks and random
changes (hypothesis), on the run's database backend.

For every example: store random blocks, detect incrementally from nothing, change some of
them (statuses, ranges, withdrawals, new records), detect incrementally again. The alerts left
open and the links stored must be exactly those the unit-by-unit oracle derives from the final
blocks, and a full run afterwards must find nothing to change.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaregistry.detect import closure
from metaregistry.detect.alerts import list_alerts, list_links
from metaregistry.detect.engine import detect_full, detect_incremental
from metaregistry.detect.findings import drafts_of
from metaregistry.index import store
from metaregistry.index.metadata import metadata
from metaregistry.ingest import max_version_id
from metaregistry.model import UnitBlock

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "detect"))
from detect_support import block, oracle_pairs, verra_serial

REGISTRIES = ("verra", "srn-ppi", "toucan")
STATUSES = ("issued", "issued", "pending", "retired", "retired", "cancelled", "transferred")
REASONS = (None, "Retired for tokenization via Toucan", "Cancelled for conversion", "ARB")
DATES = (None, "2024-01-01", "2024-06-01")


def _serial(registry: str, record_id: str, start: int, end: int) -> str:
    # Verra's serials parse (origins can name their ranges); the others are opaque.
    if registry == "verra":
        return verra_serial(start, end, batch=int(record_id[1:]) + 1)
    return f"{registry}-{record_id}-{start}-{end}"


@st.composite
def blocks_strategy(draw: st.DrawFn, prefix: str, count: int) -> list[UnitBlock]:
    out: list[UnitBlock] = []
    for i in range(count):
        registry = draw(st.sampled_from(REGISTRIES))
        record_id = f"{prefix}{i}"
        start = draw(st.integers(0, 40))
        end = start + draw(st.integers(0, 25))
        origin = None
        if registry != "verra" and draw(st.booleans()):
            o_start = draw(st.integers(max(0, start - 5), start))
            origin = verra_serial(o_start, end + draw(st.integers(0, 5)), batch=1)
        out.append(
            block(
                registry,
                record_id,
                start,
                end,
                draw(st.sampled_from(STATUSES)),
                scope=draw(st.sampled_from(("", "", "b2"))),
                serial=_serial(registry, record_id, start, end),
                origin=origin,
                status_reason=draw(st.sampled_from(REASONS)),
                status_date=draw(st.sampled_from(DATES)),
            )
        )
    return out


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[UnitBlock], list[UnitBlock]]:
    first = draw(blocks_strategy("r", draw(st.integers(1, 10))))
    changes: list[UnitBlock] = []
    for b in first:
        action = draw(st.sampled_from(("keep", "status", "move", "move", "withdraw")))
        if action == "status":
            changes.append(_with(b, status=draw(st.sampled_from(STATUSES))))
        elif action == "move":
            start = draw(st.integers(0, 40))
            changes.append(_with(b, block_start=start, block_end=start + b.quantity - 1))
        elif action == "withdraw":
            changes.append(_with(b, status="withdrawn"))
    changes.extend(draw(blocks_strategy("n", draw(st.integers(0, 4)))))
    return first, changes


def _with(b: UnitBlock, **changes: Any) -> UnitBlock:
    fields = {**b.content(), **changes}
    registry, record_id = fields.pop("registry"), fields.pop("record_id")
    start, end, status = fields.pop("block_start"), fields.pop("block_end"), fields.pop("status")
    for name in ("quantity", "serial"):
        fields.pop(name)
    return block(
        registry,
        record_id,
        start,
        end,
        status,
        serial=_serial(registry, record_id, start, end),
        **fields,
    )


def _expected(final: list[UnitBlock]) -> tuple[set[Any], set[Any]]:
    alerts, links = drafts_of(oracle_pairs(final))
    return (
        {(a.id, a.kind, tuple(a.ranges), tuple(a.excess), frozenset(a.keys)) for a in alerts},
        {(link.id, link.kind, link.ranges) for link in links},
    )


def _stored(engine: sa.Engine) -> tuple[set[Any], set[Any]]:
    with engine.connect() as conn:
        alerts = [a for a in list_alerts(conn) if a["status"] != "resolved"]
        links = list_links(conn)
    return (
        {
            (
                a["id"],
                a["kind"],
                tuple(tuple(r) for r in a["detail"]["ranges"]),
                tuple(tuple(r) for r in a["detail"]["excess"]),
                frozenset((s["registry"], s["record_id"]) for s in a["sides"]),
            )
            for a in alerts
        },
        {
            (link["id"], link["kind"], ((link["overlap_start"], link["overlap_end"]),))
            for link in links
        },
    )


def _reset(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def _store(engine: sa.Engine, blocks: list[UnitBlock]) -> int:
    with engine.begin() as conn:
        since = max_version_id(conn)
        store.upsert_blocks(conn, blocks, connector="test")
    return since


def _links_single_range(links: set[Any]) -> set[Any]:
    # Links store their hull; the oracle's ranges of one pair may be split around a record
    # of the same registry. Compare hulls.
    return {(i, k, ((r[0][0], r[-1][1]),)) for i, k, r in links}


@pytest.mark.parametrize("small_group", [0, 256], ids=["probed", "read-whole"])
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario())
def test_full_and_incremental_agree_with_the_oracle(
    engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    small_group: int,
    case: tuple[list[UnitBlock], list[UnitBlock]],
) -> None:
    # Both ways of finding overlaps: span-class probes (large groups) and whole groups.
    monkeypatch.setattr(closure, "_SMALL_GROUP", small_group)
    first, changes = case
    _reset(engine)
    since = _store(engine, first)
    with engine.begin() as conn:
        detect_incremental(conn, since)
    assert _stored(engine)[0] == _expected(first)[0]

    since = _store(engine, changes)
    with engine.begin() as conn:
        detect_incremental(conn, since)
    final = {b.key: b for b in first}
    final.update({b.key: b for b in changes})
    expected_alerts, expected_links = _expected(list(final.values()))
    stored_alerts, stored_links = _stored(engine)
    assert stored_alerts == expected_alerts
    assert stored_links == _links_single_range(expected_links)

    full = detect_full(engine)
    assert (full.alerts_opened, full.alerts_updated, full.alerts_resolved) == (0, 0, 0)
    assert full.alerts_reopened == 0
    assert _stored(engine) == (stored_alerts, stored_links)
