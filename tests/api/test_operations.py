"""What operators and integrators rely on: health, metrics, the OpenAPI document, the web
page and the mounted alert feed."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import sqlalchemy as sa
from api_world import ALERT_ID, Api
from referencing.jsonschema import DRAFT202012

from metaregistry.api.app import IndexMissingError, create_app
from metaregistry.api.queries import Db
from metaregistry.settings import settings_from

pytestmark = pytest.mark.anyio


async def test_health_is_ok_when_the_database_answers(api: Api) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "log": "ok: 7 leaves, checkpoint of 6",
    }


async def test_health_is_503_when_the_database_does_not_answer(
    serve_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(db: Db) -> bool:
        raise ConnectionError("database went away")

    monkeypatch.setattr(Db, "ping", broken)
    async with serve_api() as api:
        response = await api.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "database went away" in response.json()["database"]


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM log_leaves WHERE idx = 4",
        "UPDATE log_leaves SET leaf_hash = log_leaves.data WHERE idx = 5",
        "DELETE FROM log_nodes",
    ],
)
async def test_health_is_503_when_the_log_is_damaged(api: Api, world: Any, damage: str) -> None:
    """Readiness reads the log head: a log whose tree no longer hashes to its checkpoint
    (lookups would fail their proofs) makes the process unready."""
    assert (await api.get("/healthz")).status_code == 200
    with world.engine.begin() as conn:
        conn.execute(sa.text(damage))
    response = await api.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["log"].startswith("LogCorruptError: "), body


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the one sample of ``name`` with exactly these labels (in any order)."""
    found = []
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        pairs = dict(
            re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(2) or "")
        )
        if pairs == labels:
            found.append(float(match.group(3)))
    assert len(found) == 1, f"{name}{labels} in\n{text}"
    return found[0]


async def test_metrics_count_requests_by_route_and_status(api: Api) -> None:
    for _ in range(3):
        await api.get("/v1/serials/vcs::1120")
    await api.get("/v1/serials/vcs::5")
    await api.get("/no/such/path")
    response = await api.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    route = "/v1/serials/{serial}"
    assert (
        sample(text, "metaregistry_http_requests_total", route=route, method="GET", status="200")
        == 3
    )
    assert (
        sample(text, "metaregistry_http_requests_total", route=route, method="GET", status="404")
        == 1
    )
    assert (
        sample(
            text, "metaregistry_http_requests_total", route="unmatched", method="GET", status="404"
        )
        == 1
    )
    assert (
        sample(
            text,
            "metaregistry_http_request_duration_seconds_count",
            route=route,
            method="GET",
            status="200",
        )
        == 3
    )
    assert (
        sample(
            text,
            "metaregistry_http_request_duration_seconds_bucket",
            route=route,
            method="GET",
            status="200",
            le="+Inf",
        )
        == 3
    )
    # Asked one after the other, each lookup was a batch of its own.
    assert sample(text, "metaregistry_lookup_batches") == 4
    assert sample(text, "metaregistry_lookup_batched") == 4


async def test_metrics_show_the_index_and_the_log(api: Api) -> None:
    text = (await api.get("/metrics")).text
    assert sample(text, "metaregistry_index_blocks", registry="verra", status="issued") == 1
    assert sample(text, "metaregistry_index_units", registry="verra", status="retired") == 100
    assert sample(text, "metaregistry_log_tree_size") == 7
    # Every line is a comment or a sample: the format Prometheus parses.
    for line in text.splitlines():
        assert line.startswith("# ") or re.match(r"^[a-z_]+(\{.*\})? -?[0-9.e+]+$", line), line


async def test_the_openapi_document_covers_every_route(api: Api) -> None:
    document = (await api.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    served = set()
    for resource in api.app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if path and not path.startswith("/static"):
            served.add(path)
    assert served == set(document["paths"])
    assert {"/v1/alerts", "/v1/alerts/{id}"} <= served  # the feed is mounted


async def test_every_schema_in_the_document_is_valid_json_schema(api: Api) -> None:
    document = (await api.get("/openapi.json")).json()
    for name, schema in document["components"]["schemas"].items():
        assert isinstance(schema, dict), name
        jsonschema.Draft202012Validator.check_schema(schema)
    for path, item in document["paths"].items():
        for operation in item.values():
            assert operation["responses"], path
            for parameter in operation.get("parameters", []):
                jsonschema.Draft202012Validator.check_schema(parameter["schema"])


async def test_the_web_page_and_its_assets_are_served(api: Api) -> None:
    page = await api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form id="search"' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        response = await api.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 500


async def test_the_alert_feed_is_mounted(api: Api) -> None:
    response = await api.get("/v1/alerts", params={"status": "open"})
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["alerts"]] == [ALERT_ID]


async def test_unknown_paths_and_methods_answer_json(api: Api) -> None:
    missing = await api.get("/v2/anything")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong = await api.client.post("/v1/registries")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]


def test_an_app_over_an_empty_database_says_what_to_do(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    with pytest.raises(IndexMissingError, match="cannot open the database"):
        create_app(settings_from({"database_url": missing}))
    sqlite3.connect(tmp_path / "empty.db").close()
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(IndexMissingError, match="has no index tables; run `metaregistry sync`"):
        create_app(settings_from({"database_url": empty}))


async def test_the_block_schema_is_the_unit_block_schema_and_answers_fit_it(api: Api) -> None:
    """``Block`` is built from schemas/normalized/unit_block.schema.json: every field of the
    model is in it (content) or in ``Provenance`` (computed), stated as that schema states
    it, and blocks the API serves validate against it, bounds and patterns included."""
    from metaregistry.model import ALL_FIELDS, COMPUTED_FIELDS, CONTENT_FIELDS, UnitBlock
    from metaregistry.schemas import load_schema

    document = (await api.get("/openapi.json")).json()
    components = document["components"]["schemas"]
    block, provenance = components["Block"], components["Provenance"]
    unit = load_schema("normalized/unit_block.schema.json")
    fields = [f.name for f in dataclasses.fields(UnitBlock)]
    assert set(fields) == set(ALL_FIELDS)
    for name in fields:
        where = block if name in CONTENT_FIELDS else provenance
        assert name in where["properties"], name
        assert where["properties"][name] == unit["properties"][name], name
    assert set(COMPUTED_FIELDS) <= set(provenance["required"])
    assert set(unit["required"]) <= set(block["required"])
    assert block["properties"]["block_start"]["maximum"] == 2**63 - 1  # bounds came along

    registry = referencing.Registry().with_resource(
        "urn:openapi",
        referencing.Resource.from_contents(document, default_specification=DRAFT202012),
    )
    validator = jsonschema.Draft202012Validator(
        {"$ref": "urn:openapi#/components/schemas/Block"}, registry=registry
    )
    page = (await api.get("/v1/blocks", params={"scheme": "vcs"})).json()
    assert page["blocks"]
    for served in page["blocks"]:
        validator.validate(served)
    bad = {**page["blocks"][0], "block_start": -1}
    assert not validator.is_valid(bad)
