"""Project-level reconciliation on the run's database: findings stored as alerts and links
with basis project, next to serial detection's without disturbing them; the CLI commands."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry.canonical import hash_json
from metaregistry.detect.alerts import AlertQuery, list_alerts, list_links
from metaregistry.detect.engine import detect_full
from metaregistry.index import store
from metaregistry.model import UnitBlock
from metaregistry.reconcile.reader import mark_complete
from metaregistry.reconcile.run import reconcile_index


def block(
    registry: str,
    record_id: str,
    project: str,
    vintage: int,
    qty: int,
    status: str = "issued",
    reason: str | None = None,
    start: int = 1,
) -> UnitBlock:
    b = UnitBlock(
        registry=registry,
        record_id=record_id,
        serial=f"{registry}-{record_id}",
        scheme=registry,
        scope=record_id,
        block_start=start,
        block_end=start + qty - 1,
        quantity=qty,
        status=status,
        status_reason=reason,
        project_id=project,
        vintage_start=f"{vintage}-01-01",
        vintage_end=f"{vintage}-12-31",
    )
    b.record_hash = hash_json(b.content())
    b.raw_hash = hash_json({"id": record_id, "registry": registry})
    b.observed_at = "2026-12-05T00:00:00.000000Z"
    return b


def put(engine: sa.Engine, *blocks: UnitBlock) -> None:
    with engine.begin() as conn:
        store.upsert_blocks(conn, list(blocks), connector="test")


def write_map(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "map.csv"
    path.write_text("project_a,project_b,note\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_conversions_are_project_links_and_an_excess_an_alert(
    engine: sa.Engine, tmp_path: Path
) -> None:
    put(
        engine,
        block("acr", "c1", "ACR1051", 2025, 14_653, "cancelled", "Convert to ARB offset credits"),
        block("carb", "CAMM1051-B", "CAMM1051", 2025, 14_653),
        block("acr", "c2", "ACR7", 2020, 60, "cancelled", "Convert to ARB offset credits"),
        block("carb", "CA7-A", "CA7", 2020, 100),
    )
    project_map = write_map(tmp_path, "carb:CAMM1051,ACR1051,CARB row", "carb:CA7,ACR7,CARB row")
    with engine.begin() as conn:
        report = reconcile_index(conn, project_map=project_map)
    outcomes = sorted((f.project_key, f.outcome) for f in report.findings)
    assert outcomes == [("acr:ACR1051", "matched"), ("acr:ACR7", "unverifiable")]
    assert report.links == 1 and report.alerts_opened == 0
    with engine.connect() as conn:
        (link,) = list_links(conn, basis=["project"])
        assert (link["kind"], link["basis"], link["scheme"], link["scope"]) == (
            "compliance_move",
            "project",
            "project",
            "acr:ACR1051",
        )
        assert (link["source_record_id"], link["target_record_id"]) == ("c1", "CAMM1051-B")
        assert list_alerts(conn) == []
    # once both registries' record sets are complete, the excess is an alert
    with engine.begin() as conn:
        mark_complete(conn, ["acr", "carb"], "import", "test")
        report = reconcile_index(conn, project_map=project_map)
    assert report.alerts_opened == 1
    with engine.connect() as conn:
        (alert,) = list_alerts(conn, AlertQuery(basis=frozenset({"project"})))
    assert (alert["kind"], alert["basis"], alert["severity"]) == (
        "quantity_mismatch",
        "project",
        "medium",
    )
    assert (alert["overlap_start"], alert["overlap_size"]) == (2020, 40)
    assert {s["record_id"] for s in alert["sides"]} == {"c2", "CA7-A"}
    # the source catches up: the alert resolves, the move becomes a link
    put(
        engine,
        block(
            "acr", "c3", "ACR7", 2020, 40, "cancelled", "Convert to ARB offset credits", start=61
        ),
    )
    with engine.begin() as conn:
        report = reconcile_index(conn, project_map=project_map)
    assert report.alerts_resolved == 1
    with engine.connect() as conn:
        assert [a["status"] for a in list_alerts(conn)] == ["resolved"]
        assert len(list_links(conn, basis=["project"])) == 3


def test_serial_detection_and_reconciliation_leave_each_other_alone(
    engine: sa.Engine, tmp_path: Path
) -> None:
    put(
        engine,
        block("srn-ppi", "s1", "PRJ-17", 2022, 300),
        block("verra", "v1", "VCS934", 2022, 300, "retired"),
        # a serial-basis double use: two registries retire the same units
        block("gold-standard", "g1", "GS1", 2021, 10, "retired", start=500),
        block("cercarbono", "x1", "CDC1", 2021, 10, "retired", start=500),
    )
    # give the last two one scheme so serial detection sees them overlap
    with engine.begin() as conn:
        conn.execute(
            store.unit_block.update()
            .where(store.unit_block.c.record_id.in_(["g1", "x1"]))
            .values(scheme="gs", scope="1")
        )
        mark_complete(conn, ["srn-ppi", "verra"], "import", "test")
    project_map = write_map(tmp_path, "srn-ppi:PRJ-17,VCS934,mutual recognition")
    with engine.begin() as conn:
        report = reconcile_index(conn, project_map=project_map)
    assert report.alerts_opened == 1
    with engine.begin() as conn:
        detect_full(conn)
    with engine.connect() as conn:
        alerts = {a["basis"]: a for a in list_alerts(conn)}
    assert alerts["project"]["kind"] == "double_issuance"
    assert alerts["project"]["status"] == "open"  # serial detection did not resolve it
    assert (
        "PRJ-17" in alerts["project"]["explanation"]
        and "VCS934" in alerts["project"]["explanation"]
    )
    assert alerts["serial"]["status"] == "open"
    # and reconciliation does not resolve the serial one
    with engine.begin() as conn:
        reconcile_index(conn, project_map=project_map)
    with engine.connect() as conn:
        assert sorted(a["status"] for a in list_alerts(conn)) == ["open", "open"]


def _run(db_url: str, args: Sequence[str], tmp_path: Path, project_map: Path | None = None) -> Any:
    from metaregistry.cli import main

    env = {"METAREGISTRY_DATABASE_URL": db_url}
    if project_map is not None:
        env["METAREGISTRY_RECONCILE__PROJECT_MAP"] = str(project_map)
    return CliRunner().invoke(main, list(args), env=env)


def test_reconcile_links_and_projects_commands(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    put(
        engine,
        block("acr", "c1", "ACR1051", 2025, 14_653, "cancelled", "Convert to ARB offset credits"),
        block("carb", "CAMM1051-B", "CAMM1051", 2025, 14_653),
    )
    project_map = write_map(tmp_path, "carb:CAMM1051,ACR1051,CARB row")
    result = _run(db_url, ["reconcile"], tmp_path, project_map)
    assert result.exit_code == 0, result.output
    assert "acr -> carb: 1 matched (14,653 -> 14,653 units)" in result.stdout
    result = _run(db_url, ["reconcile", "--json"], tmp_path, project_map)
    data = json.loads(result.stdout)
    assert data["counts"]["matched"] == 1
    assert data["findings"][0]["basis"] == "project"
    result = _run(db_url, ["links", "--json", "--basis", "project"], tmp_path)
    (link,) = json.loads(result.stdout)
    assert link["kind"] == "compliance_move"
    assert json.loads(_run(db_url, ["links", "--json", "--basis", "serial"], tmp_path).stdout) == []
    result = _run(db_url, ["projects", "show", "ACR1051"], tmp_path, project_map)
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["ids"] == ["acr:ACR1051", "carb:CAMM1051"]
    assert view["id_links"][0]["source"] == "map"
    assert view["reconciliation"][0]["outcome"] == "matched"
    assert {(u["registry"], u["status"], u["units"]) for u in view["units"]} == {
        ("acr", "cancelled", 14_653),
        ("carb", "issued", 14_653),
    }
    assert _run(db_url, ["projects", "show", "ACR999"], tmp_path).exit_code == 1


def test_import_complete_records_coverage_and_reconciles(db_url: str, tmp_path: Path) -> None:
    rows = [
        block("acr", "c1", "ACR7", 2020, 60, "cancelled", "Convert to ARB offset credits"),
        block("carb", "CA7-A", "CA7", 2020, 100),
    ]
    data = tmp_path / "records.ndjson"
    data.write_text("".join(json.dumps(b.content()) + "\n" for b in rows), encoding="utf-8")
    project_map = write_map(tmp_path, "carb:CA7,ACR7,CARB row")
    env = {
        "METAREGISTRY_DATABASE_URL": db_url,
        "METAREGISTRY_RECONCILE__PROJECT_MAP": str(project_map),
        "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "log.pem"),
    }
    from metaregistry.cli import main

    result = CliRunner().invoke(main, ["import", "generic", str(data), "--complete"], env=env)
    assert result.exit_code == 0, result.output
    assert "complete record set: acr, carb" in result.stdout
    from metaregistry.index.db import create_engine

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            from metaregistry.reconcile.reader import coverage

            assert coverage(conn) == {"acr": True, "carb": True}
            # reconciliation ran after the import: both complete, CARB issued 40 more
            (alert,) = list_alerts(conn)
    finally:
        engine.dispose()
    assert (alert["kind"], alert["basis"]) == ("quantity_mismatch", "project")


def test_the_project_across_registries_over_http(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from metaregistry.api.app import create_app
    from metaregistry.settings import load_settings

    put(
        engine,
        block("acr", "c1", "ACR1051", 2025, 14_653, "cancelled", "Convert to ARB offset credits"),
        block("carb", "CAMM1051-B", "CAMM1051", 2025, 14_653),
    )
    project_map = write_map(tmp_path, "carb:CAMM1051,ACR1051,CARB row")
    with engine.begin() as conn:
        reconcile_index(conn, project_map=project_map)

    async def fetch() -> tuple[dict[str, Any], dict[str, Any], int]:
        settings = load_settings(None, environ={"METAREGISTRY_DATABASE_URL": db_url})
        app = create_app(settings)

        async with TestClient(TestServer(app)) as client:
            one = await (await client.get("/v1/projects/ACR1051")).json()
            other = await (await client.get("/v1/projects/carb:CAMM1051")).json()
            missing = (await client.get("/v1/projects/ACR999")).status
        return one, other, missing

    one, other, missing = asyncio.run(fetch())
    across = one["across_registries"]
    assert across["ids"] == ["acr:ACR1051", "carb:CAMM1051"]
    assert across["id_links"][0]["detail"].startswith("map.csv:2")
    assert [f["outcome"] for f in across["reconciliation"]] == ["matched"]
    assert [b["record_id"] for b in one["blocks"]] == ["c1"]
    assert other["across_registries"]["project_key"] == "acr:ACR1051"
    assert missing == 404


def test_a_record_naming_its_opr_project_links_without_a_mapping(engine: sa.Engine) -> None:
    carb = block("carb", "CAOD5001-A", "CAOD5001", 2013, 107_542)
    carb.numbering = "own"
    carb.cross_refs = "opr_project=car:CAR992; opr_project_comment=acr:ACR258"
    carb.record_hash = hash_json(carb.content())
    acr = block("acr", "c1", "ACR1051", 2025, 14_653, "cancelled", "Convert to ARB offset credits")
    carb2 = block("carb", "CAMM1051-B", "CAMM1051", 2025, 14_653)
    carb2.numbering, carb2.cross_refs = "own", "opr_project=acr:ACR1051"
    carb2.record_hash = hash_json(carb2.content())
    put(engine, carb, acr, carb2)
    with engine.begin() as conn:
        report = reconcile_index(conn)
    outcomes = sorted((f.outcome, f.kind, f.source, f.target) for f in report.findings)
    assert ("matched", "compliance_move", "acr", "carb") in outcomes
    assert ("registry_move", "registry_move", "car", "acr") in outcomes
    assert not [f for f in report.findings if f.is_alert]
    with engine.connect() as conn:
        kinds = sorted(link["kind"] for link in list_links(conn, basis=["project"]))
    assert kinds == ["compliance_move", "registry_move"]


def test_after_a_write_only_the_touched_projects_are_reconciled(
    engine: sa.Engine, tmp_path: Path
) -> None:
    from metaregistry.ingest import max_version_id

    project_map = write_map(tmp_path, "carb:CA7,ACR7,CARB row", "carb:CA8,ACR8,CARB row")
    put(
        engine,
        block("acr", "c7", "ACR7", 2020, 60, "cancelled", "Convert to ARB offset credits"),
        block("carb", "CA7-A", "CA7", 2020, 100),
        block("acr", "c8", "ACR8", 2020, 50, "cancelled", "Convert to ARB offset credits"),
        block("carb", "CA8-A", "CA8", 2020, 80),
    )
    with engine.begin() as conn:
        mark_complete(conn, ["acr", "carb"], "import", "test")
        full = reconcile_index(conn, project_map=project_map)
        since = max_version_id(conn)
    assert full.alerts_opened == 2
    # ACR8's missing cancellation arrives: only ACR8's project is looked at again
    put(engine, block("acr", "c8b", "ACR8", 2020, 30, "cancelled", "ARB", start=51))
    with engine.begin() as conn:
        report = reconcile_index(conn, project_map=project_map, since_version_id=since)
    assert {f.project_key for f in report.findings} == {"acr:ACR8"}
    assert (report.alerts_resolved, report.alerts_opened) == (1, 0)
    with engine.connect() as conn:
        statuses = {a["scope"]: a["status"] for a in list_alerts(conn)}
    assert statuses == {"acr:ACR7": "open", "acr:ACR8": "resolved"}
