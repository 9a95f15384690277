"""Range search, projects and registries over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from api_world import Api, World

from metaregistry.index.tables import SyncRunRow

pytestmark = pytest.mark.anyio


async def get_json(api: Api, path: str, expect: int = 200, **params: Any) -> dict[str, Any]:
    response = await api.get(path, params=params)
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_range_search_returns_blocks_intersecting_the_range_in_order(api: Api) -> None:
    page = await get_json(api, "/v1/blocks", scheme="vcs", start=1140, end=1520)
    assert [(b["record_id"], b["overlap"]) for b in page["blocks"]] == [
        ("v-iss", {"block_start": 1140, "block_end": 1520, "quantity": 381}),
        ("v-ret", {"block_start": 1140, "block_end": 1199, "quantity": 60}),
        ("t-dup", {"block_start": 1140, "block_end": 1149, "quantity": 10}),
        ("v-can", {"block_start": 1500, "block_end": 1520, "quantity": 21}),
        ("s-conv", {"block_start": 1500, "block_end": 1520, "quantity": 21}),
    ]
    assert page["next_cursor"] is None


async def test_range_search_is_inclusive_at_both_ends(api: Api) -> None:
    page = await get_json(api, "/v1/blocks", scheme="vcs", start=1199, end=1199)
    assert {b["record_id"] for b in page["blocks"]} == {"v-iss", "v-ret"}
    page = await get_json(api, "/v1/blocks", scheme="vcs", start=1200, end=1499)
    assert [b["record_id"] for b in page["blocks"]] == ["v-iss"]


async def test_range_search_filters_by_registry_and_status(api: Api) -> None:
    retired = await get_json(api, "/v1/blocks", scheme="vcs", status="retired")
    assert {b["record_id"] for b in retired["blocks"]} == {"v-ret", "t-dup"}
    tccr = await get_json(api, "/v1/blocks", scheme="vcs", registry="tccr")
    assert [b["record_id"] for b in tccr["blocks"]] == ["t-dup"]
    gs = await get_json(api, "/v1/blocks", scheme="gs", scope="30307")
    assert [b["record_id"] for b in gs["blocks"]] == ["g-1"]


async def test_range_search_pages_with_a_cursor(api: Api) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"scheme": "vcs", "limit": 2}
    while True:
        page = await get_json(api, "/v1/blocks", **params)
        seen += [b["record_id"] for b in page["blocks"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ["v-iss", "v-ret", "t-dup", "v-can", "s-conv"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "scheme"),
        ({"scheme": "vcs", "start": "ten"}, "start"),
        ({"scheme": "vcs", "start": "-1"}, "start"),
        ({"scheme": "vcs", "start": "9", "end": "3"}, "start"),
        ({"scheme": "vcs", "limit": "0"}, "limit"),
        ({"scheme": "vcs", "limit": "1001"}, "limit"),
        ({"scheme": "vcs", "status": "sold"}, "status"),
        ({"scheme": "vcs", "end": str(2**63)}, "end"),
    ],
)
async def test_range_search_names_the_bad_parameter(
    api: Api, params: dict[str, str], field: str
) -> None:
    body = await get_json(api, "/v1/blocks", 400, **params)
    assert body["error"] == "invalid_parameter"
    assert body["field"] == field


async def test_a_project_across_registries(api: Api) -> None:
    project = await get_json(api, "/v1/projects/VCS1340")
    assert project["registries"] == [
        {"registry": "srn-ppi", "blocks": 1, "units_by_status": {"issued": 100}},
        {
            "registry": "verra",
            "blocks": 3,
            "units_by_status": {"cancelled": 100, "issued": 1000, "retired": 100},
        },
    ]
    assert project["units_by_status"] == {"cancelled": 100, "issued": 1100, "retired": 100}
    assert sorted(b["record_id"] for b in project["blocks"]) == [
        "s-conv",
        "v-can",
        "v-iss",
        "v-ret",
    ]
    assert [a["kind"] for a in project["alerts"]] == ["double_use"]


async def test_a_project_pages_its_blocks(api: Api) -> None:
    first = await get_json(api, "/v1/projects/VCS1340", limit=3)
    second = await get_json(api, "/v1/projects/VCS1340", limit=3, cursor=first["next_cursor"])
    ids = [b["record_id"] for b in first["blocks"] + second["blocks"]]
    assert len(ids) == len(set(ids)) == 4
    assert second["next_cursor"] is None


async def test_an_unknown_project_is_404(api: Api) -> None:
    body = await get_json(api, "/v1/projects/VCS999999", 404)
    assert body["error"] == "not_found"
    assert body["field"] == "project_id"


def add_run(
    engine: sa.Engine,
    connector: str,
    outcome: str,
    finished: datetime,
    error: str | None = None,
    source_totals: str | None = None,
) -> None:
    table = SyncRunRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            table.insert().values(
                connector=connector,
                owner="test",
                started_at=finished - timedelta(minutes=5),
                heartbeat_at=finished,
                finished_at=finished,
                outcome=outcome,
                pages=3,
                records_seen=120,
                records_written=7,
                quarantined=1,
                withdrawn=0,
                error=error,
                source_totals=source_totals,
            )
        )


async def test_registries_report_counts_freshness_and_the_last_error(
    serve_api: Any, world: World
) -> None:
    now = datetime.now(UTC)
    add_run(world.engine, "verra", "ok", now - timedelta(hours=3))
    add_run(world.engine, "verra", "failed", now - timedelta(hours=1), "HTTP 503 from source")
    add_run(world.engine, "tccr", "ok", now - timedelta(minutes=10))
    async with serve_api() as api:
        body = await get_json(api, "/v1/registries")
    registries = {r["registry"]: r for r in body["registries"]}
    assert registries["verra"]["blocks"] == 3
    assert registries["verra"]["units"] == 1200
    assert registries["verra"]["by_status"]["retired"] == {"blocks": 1, "units": 100}
    assert registries["gold-standard"]["connectors"] == ["gold-standard"]
    assert body["totals"] == {"blocks": 6, "units": 1850}
    connectors = {c["name"]: c for c in body["connectors"]}
    verra = connectors["verra"]
    assert verra["installed"] is True
    assert verra["last_run"]["outcome"] == "failed"
    assert verra["last_error"]["message"] == "HTTP 503 from source"
    assert 3 * 3600 - 60 < verra["age_seconds"] < 3 * 3600 + 60
    assert connectors["tccr"]["age_seconds"] < 3600
    assert connectors["tccr"]["last_error"] is None
    assert connectors["srn-ppi"]["last_success_at"] is None
    assert verra["last_run"]["source_totals"] == {} and verra["last_run"]["drift"] == []


async def test_registries_serve_each_connectors_source_totals_and_drift(
    serve_api: Any, world: World
) -> None:
    import json

    totals = {
        "totals": {"holdings": {"records": 3825}},
        "drift": ["holdings: source reports 3825 records, sync saw 3824 distinct"],
    }
    add_run(world.engine, "jcm", "ok", datetime.now(UTC), source_totals=json.dumps(totals))
    async with serve_api() as api:
        body = await get_json(api, "/v1/registries")
    jcm = {c["name"]: c for c in body["connectors"]}["jcm"]
    assert jcm["last_run"]["source_totals"] == {"holdings": {"records": 3825}}
    assert jcm["last_run"]["drift"] == totals["drift"]
