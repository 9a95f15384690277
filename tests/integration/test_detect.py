"""Detection on a real database (SQLite or PostgreSQL, by METAREGISTRY_TEST_DB): the alert
lifecycle, events and their log leaves, and the detect / alerts commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry.canonical import hash_json
from metaregistry.detect import lifecycle
from metaregistry.detect.alerts import AlertQuery, list_alerts, list_links
from metaregistry.detect.engine import detect_full, detect_incremental
from metaregistry.detect.events import event_document
from metaregistry.detect.tables import alert_event_table
from metaregistry.index import store
from metaregistry.ingest import max_version_id
from metaregistry.log.tables import leaves_table
from metaregistry.model import UnitBlock

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "detect"))
from detect_support import block, verra_serial

SOURCE = verra_serial(100, 199)
CONVERSION = "Cancelled for conversion to SPE-GRK in SRN-PPI (Indonesia)"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def put(engine: sa.Engine, *blocks: UnitBlock) -> int:
    """Store blocks; returns the version id detection should continue after."""
    with engine.begin() as conn:
        since = max_version_id(conn)
        store.upsert_blocks(conn, list(blocks), connector="test")
    return since


def incremental(engine: sa.Engine, since: int, now: datetime = T0) -> Any:
    with engine.begin() as conn:
        return detect_incremental(conn, since, now=now)


def alerts(engine: sa.Engine, **query: frozenset[str]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return list_alerts(conn, AlertQuery(**query))


def events(engine: sa.Engine) -> list[dict[str, Any]]:
    table = alert_event_table
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def verra(status: str = "issued", reason: str | None = None) -> UnitBlock:
    return block("verra", "v1", 100, 199, status, serial=SOURCE, status_reason=reason)


def srn(status: str = "issued", start: int = 100, end: int = 199, rid: str = "s1") -> UnitBlock:
    return block("srn-ppi", rid, start, end, status, origin=verra_serial(start, end))


def test_rerunning_detection_never_duplicates_an_alert(engine: sa.Engine) -> None:
    put(engine, verra("retired", "Environmental Benefit"))
    put(engine, block("toucan", "t1", 150, 260, "retired", origin=verra_serial(150, 260)))
    first = detect_full(engine, now=T0)
    second = detect_full(engine, now=T0)
    again = incremental(engine, 0)
    assert first.alerts_opened == 1
    assert (second.alerts_opened, second.alerts_updated, second.alerts_resolved) == (0, 0, 0)
    assert (again.alerts_opened, again.alerts_updated, again.alerts_resolved) == (0, 0, 0)
    (alert,) = alerts(engine)
    assert alert["kind"] == "double_use"
    assert (alert["overlap_start"], alert["overlap_end"], alert["overlap_size"]) == (150, 199, 50)
    assert [e["type"] for e in events(engine)] == ["opened"]


def test_alert_resolves_when_the_source_is_cancelled_and_reopens(engine: sa.Engine) -> None:
    since = put(engine, verra(), srn())
    incremental(engine, since)
    (alert,) = alerts(engine)
    assert (alert["kind"], alert["status"]) == ("double_issuance", "open")

    since = put(engine, verra("cancelled", CONVERSION))
    summary = incremental(engine, since)
    assert summary.alerts_resolved == 1
    (alert,) = alerts(engine)
    assert (alert["status"], alert["resolution"]) == ("resolved", "auto")
    with engine.connect() as conn:
        (link,) = list_links(conn)
    assert (link["kind"], link["source_registry"], link["target_registry"]) == (
        "conversion",
        "verra",
        "srn-ppi",
    )

    since = put(engine, verra("issued"))  # the cancellation was reversed at the source
    incremental(engine, since)
    (alert,) = alerts(engine)
    assert (alert["status"], alert["resolution"]) == ("open", None)
    assert [e["type"] for e in events(engine)] == ["opened", "resolved", "reopened"]
    with engine.connect() as conn:
        assert list_links(conn) == []


def test_acknowledged_stays_acknowledged_and_manual_resolution_sticks(
    engine: sa.Engine,
) -> None:
    gold = block("gold-standard", "g1", 100, 199)  # the same VCUs listed by another registry
    since = put(engine, verra(), gold)
    incremental(engine, since)
    (alert,) = alerts(engine)
    with engine.begin() as conn:
        assert lifecycle.acknowledge(conn, alert["id"]) is not None
        assert lifecycle.acknowledge(conn, alert["id"]) is None  # already
    since = put(engine, block("gold-standard", "g1", 100, 199, "pending"))
    incremental(engine, since)  # the facts change: updated, still acknowledged
    (alert,) = alerts(engine)
    assert alert["status"] == "acknowledged"
    with engine.begin() as conn:
        lifecycle.resolve(conn, alert["id"])
    detect_full(engine)
    (alert,) = alerts(engine)
    assert (alert["status"], alert["resolution"]) == ("resolved", "manual")
    # A new record joins the same incident (Verra lists a retirement inside the issuance
    # that Gold Standard still holds live): the facts a person judged changed, so it reopens.
    since = put(engine, block("verra", "r", 150, 170, "retired", serial=verra_serial(150, 170)))
    incremental(engine, since)
    (alert,) = alerts(engine)
    assert alert["status"] == "open"
    assert {s["record_id"] for s in alert["sides"]} == {"v1", "r", "g1"}
    assert [e["type"] for e in events(engine)] == [
        "opened",
        "acknowledged",
        "updated",
        "resolved",
        "reopened",
    ]


def test_hand_changes_name_bad_ids_and_states(engine: sa.Engine) -> None:
    since = put(engine, verra(), srn())
    incremental(engine, since)
    (alert,) = alerts(engine)
    with engine.begin() as conn, pytest.raises(lifecycle.AlertNotFoundError, match="al_nope"):
        lifecycle.acknowledge(conn, "al_nope")
    with engine.begin() as conn:
        lifecycle.resolve(conn, alert["id"])
    with engine.begin() as conn, pytest.raises(lifecycle.AlertStateError, match="resolved"):
        lifecycle.acknowledge(conn, alert["id"])


def test_withdrawn_block_resolves_its_alerts(engine: sa.Engine) -> None:
    since = put(engine, verra(), srn())
    incremental(engine, since)
    since = put(engine, srn("withdrawn"))
    incremental(engine, since)
    (alert,) = alerts(engine)
    assert (alert["status"], alert["resolution"]) == ("resolved", "withdrawn")


def test_withdrawing_the_most_final_record_reveals_what_it_hid(engine: sa.Engine) -> None:
    # Two live TCCR records under a retirement: the retirement is each unit's state, so no
    # internal overlap. Once the retirement is withdrawn, the two live records overlap.
    a = block("tccr", "a", 1, 10, scheme="tver", scope="00001")
    b = block("tccr", "b", 1, 10, scheme="tver", scope="00001")
    retired = block("tccr", "r", 1, 10, "retired", scheme="tver", scope="00001")
    since = put(engine, a, b, retired)
    incremental(engine, since)
    assert alerts(engine) == []
    since = put(engine, block("tccr", "r", 1, 10, "withdrawn", scheme="tver", scope="00001"))
    incremental(engine, since)
    (alert,) = alerts(engine)
    assert (alert["kind"], alert["status"]) == ("internal_overlap", "open")


def test_moved_record_rechecks_what_it_left(engine: sa.Engine) -> None:
    # Verra lists an issuance and a retirement inside it; a Gold Standard block overlaps both.
    issued = block("verra", "i", 100, 199, serial=verra_serial(100, 199))
    retired = block("verra", "r", 120, 129, "retired", serial=verra_serial(120, 129))
    since = put(engine, issued, retired, block("gold-standard", "g1", 100, 199))
    incremental(engine, since)
    (alert,) = alerts(engine)
    assert {s["record_id"] for s in alert["sides"]} == {"i", "r", "g1"}
    # The retirement moves away: only the issuance pairs with the SRN block now.
    since = put(engine, block("verra", "r", 300, 309, "retired", serial=verra_serial(300, 309)))
    incremental(engine, since)
    (alert,) = alerts(engine)
    assert {s["record_id"] for s in alert["sides"]} == {"i", "g1"}
    assert alert["detail"]["ranges"] == [[100, 199]]
    full = detect_full(engine)
    assert (full.alerts_opened, full.alerts_updated, full.alerts_resolved) == (0, 0, 0)


def test_events_are_hashed_and_logged(engine: sa.Engine) -> None:
    since = put(engine, verra(), srn())
    incremental(engine, since)
    since = put(engine, verra("cancelled", CONVERSION))
    incremental(engine, since)
    rows = events(engine)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    for row in rows:
        assert row["event_hash"] == hash_json(event_document(row))
        document = event_document(row)
        assert document["alert"]["status"] == ("open" if row["type"] == "opened" else "resolved")
    with engine.connect() as conn:
        logged = conn.execute(
            sa.select(leaves_table.c.event_id, leaves_table.c.data).where(
                leaves_table.c.type == "alert_event"
            )
        ).all()
    assert sorted(int(e) for e, _ in logged) == [r["id"] for r in rows]
    by_id = {int(e): json.loads(bytes(d)) for e, d in logged}
    for row in rows:
        assert by_id[row["id"]]["event_hash"] == row["event_hash"]


def test_incremental_detection_with_nothing_new_changes_nothing(engine: sa.Engine) -> None:
    put(engine, verra(), srn())
    detect_full(engine)
    with engine.connect() as conn:
        since = max_version_id(conn)
    summary = incremental(engine, since)
    assert summary.blocks_checked == 0
    assert summary.upto_version_id == since


# ---- the commands


def _run(db_url: str, args: Sequence[str]) -> Any:
    from metaregistry.cli import main

    runner = CliRunner()
    return runner.invoke(main, list(args), env={"METAREGISTRY_DATABASE_URL": db_url})


@pytest.fixture
def seeded(engine: sa.Engine) -> sa.Engine:
    put(
        engine,
        verra("retired", "Environmental Benefit"),
        block("toucan", "t1", 100, 199, "retired", origin=SOURCE, serial=SOURCE),
        block("tccr", "a", 1, 50, scheme="tver", scope="00001"),
        block("tccr", "b", 40, 60, scheme="tver", scope="00001"),
        block(
            "acr",
            "c",
            1,
            9,
            "cancelled",
            scheme="acr",
            scope="3001",
            status_reason="Convert to ARB offset credits",
        ),
        block("carb", "k", 1, 9, scheme="acr", scope="3001", origin="ACR-US-1-2020-3001-1 to 9"),
    )
    return engine


def test_detect_and_alerts_commands(seeded: sa.Engine, db_url: str) -> None:
    result = _run(db_url, ["detect", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["mode"], summary["alerts_opened"], summary["links_found"]) == ("full", 2, 1)

    result = _run(db_url, ["alerts", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert sorted(a["kind"] for a in listed) == ["double_use", "internal_overlap"]
    for alert in listed:
        assert {"id", "kind", "severity", "status", "sides", "overlap_start", "overlap_end"} <= set(
            alert
        )
        for side in alert["sides"]:
            assert {"registry", "serial", "block_start", "block_end", "status"} <= set(side)
    double_use = next(a for a in listed if a["kind"] == "double_use")
    assert {(s["registry"], s["serial"]) for s in double_use["sides"]} == {
        ("verra", SOURCE),
        ("toucan", SOURCE),
    }

    result = _run(db_url, ["alerts", "--registry", "tccr"])
    assert result.exit_code == 0
    assert "internal_overlap" in result.output and "double_use" not in result.output
    assert _run(db_url, ["alerts", "--kind", "double_use", "--json"]).output.count('"id"') == 1
    assert "no alerts" in _run(db_url, ["alerts", "--severity", "low"]).output
    bad = _run(db_url, ["alerts", "--kind", "fraud"])
    assert bad.exit_code == 2 and "'fraud' is not one of" in bad.output

    assert _run(db_url, ["alerts", "ack", double_use["id"]]).exit_code == 0
    assert _run(db_url, ["alerts", "resolve", double_use["id"]]).exit_code == 0
    result = _run(db_url, ["alerts", "--status", "resolved", "--json"])
    assert [a["id"] for a in json.loads(result.stdout)] == [double_use["id"]]
    missing = _run(db_url, ["alerts", "ack", "al_000"])
    assert missing.exit_code == 1 and "no alert with id 'al_000'" in missing.output

    again = _run(db_url, ["detect"])  # incremental after the first run: nothing new
    assert again.exit_code == 0 and again.output.startswith("incremental detection")


def test_incremental_run_over_most_of_the_index_sweeps_instead(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metaregistry.detect import engine as detect_engine

    monkeypatch.setattr(detect_engine, "_FULL_AFTER", 1)
    since = put(engine, verra(), srn())  # every block is new: one sweep instead
    summary = incremental(engine, since)
    assert (summary.mode, summary.since_version_id, summary.alerts_opened) == ("full", since, 1)
    monkeypatch.setattr(detect_engine, "_FULL_AFTER", 1000)
    since = put(engine, srn("retired"))
    again = incremental(engine, since)
    assert (again.mode, again.alerts_updated) == ("incremental", 1)
    (alert,) = alerts(engine)
    assert alert["kind"] == "double_issuance"


def test_records_numbered_their_own_way_raise_nothing_stored_and_detected(
    engine: sa.Engine,
) -> None:
    """Issue 16, end to end: ACR/CAR/CARB-like records without unit numbers (numbering
    ``own``: 1..quantity per project and vintage) in one scheme and scope, their synthetic
    ranges overlapping each other and a numbered block's, are stored and run through both
    detections: no alert, no link. The same ranges numbered raise the alert they should."""

    def records(numbering: str | None) -> list[UnitBlock]:
        where: dict[str, Any] = {"scheme": "acr", "scope": "issuance", "numbering": numbering}
        return [
            block("acr", "acr-iss-1", 1, 1000, "issued", **where),
            block("carb", "CAMM1051-B", 1, 800, "issued", **where),
            block("car", "car-iss-9", 500, 900, "retired", **where),
        ]

    own = records("own")
    numbered = block("acr", "acr-ret-1", 1, 100, "retired", scheme="acr", scope="issuance")
    since = put(engine, *own, numbered)
    incremental(engine, since)
    detect_full(engine)
    with engine.connect() as conn:
        assert (list_alerts(conn, AlertQuery()), list_links(conn)) == ([], [])
    # control: without the marker, the same records would be double issuance
    since = put(engine, *records(None))
    incremental(engine, since)
    assert alerts(engine) != []
