"""The eligibility answer (issue 19, item 3): ``GET /v1/eligibility`` and ``metaregistry
eligible``, a test per reason it can give, with the lookup's inclusion proofs."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from api_world import ORIGIN, World
from click.testing import CliRunner

from conftest import ServeApi
from metaregistry.article6.checks import run_checks
from metaregistry.article6.store import upsert_authorizations
from metaregistry.authorization import Authorization
from metaregistry.canonical import hash_json
from metaregistry.cli import main
from metaregistry.index.store import upsert_blocks
from metaregistry.ingest import append_version_leaves
from metaregistry.log import store as log_store
from metaregistry.model import UnitBlock

pytestmark = pytest.mark.anyio
STAMP = "2026-12-05T00:00:00.000000Z"


def _block(
    record_id: str,
    start: int,
    *,
    loa: str | None = None,
    ca: str | None = "applied",
    status: str = "transferred",
    registry: str = "srn-ppi",
    project: str | None = None,
    vintage: int = 2024,
) -> UnitBlock:
    b = UnitBlock(
        registry=registry,
        record_id=record_id,
        serial=f"A6T-{record_id}",
        scheme="a6t",
        scope="1",
        block_start=start,
        block_end=start + 99,
        quantity=100,
        status=status,
        country="ID",
        project_id=project,
        vintage_start=f"{vintage}-01-01",
        vintage_end=f"{vintage}-12-31",
        authorization_id=loa,
        corresponding_adjustment=ca if loa else None,
        first_transfer_date="2025-02-01" if loa and status == "transferred" else None,
        itmo_id=f"ITMO-{record_id}" if loa and status == "transferred" else None,
    )
    b.record_hash = hash_json(b.content())
    b.raw_hash = hash_json({"r": record_id})
    b.observed_at = STAMP
    return b


def _auth(ident: str, kind: str = "loa", **fields: Any) -> Authorization:
    values: dict[str, Any] = {
        "registry": "srn-ppi",
        "authorization_id": ident,
        "kind": kind,
        "host_party": "ID",
        "authorized_by": ["ID"],
        "date": "2024-05-01",
    }
    values.update(fields)
    a = Authorization(**values)
    a.record_hash = hash_json(a.content())
    a.raw_hash = hash_json({"a": ident})
    a.observed_at = STAMP
    return a


@pytest.fixture
def article6(world: World) -> World:
    blocks = [
        _block("ok", 1, loa="LOA-CORSIA"),
        _block("ndc", 201, loa="LOA-NDC"),
        _block("pending", 301, loa="LOA-CORSIA", ca="pending"),
        _block("moved", 401, loa="LOA-CORSIA"),
        _block("used", 401, registry="verra", status="retired"),
        _block("none", 501, loa="LOA-NONE"),
        _block("revoked", 601, loa="LOA-REV"),
        _block("ack", 701, loa="LOA-CORSIA", project="PRJ-ACK"),
        _block("paid", 801, loa="LOA-CORSIA", project="PRJ-REDD", vintage=2016),
        _block("over", 901, loa="LOA-SMALL"),
        # a Verra block naming the host's LoA (its letter_of_auth_hcloa column): linked to it
        _block("vcu", 1001, loa="LOA-CORSIA", registry="verra", status="issued"),
    ]
    corsia = {"purposes": ["oimp"], "oimp_uses": ["corsia"], "acquiring_parties": ["SG"]}
    auths = [
        _auth("LOA-CORSIA", quantity=100_000, **corsia),
        _auth("LOA-NDC", quantity=1000, purposes=["ndc"], acquiring_parties=["CH"]),
        _auth("LOA-REV", quantity=1000, status="revoked", **corsia),
        _auth("LOA-SMALL", quantity=10, **corsia),
        _auth("ACK-1", "loack", activity_id="PRJ-ACK"),
        _auth(
            "RBP-1",
            "results-based-payment",
            activity_id="PRJ-REDD",
            acquiring_parties=["NO"],
            vintage_from=2016,
            vintage_to=2017,
        ),
    ]
    with world.engine.begin() as conn:
        stored = upsert_blocks(conn, blocks, connector="test")
        append_version_leaves(conn, stored.versions)
        upsert_authorizations(conn, auths, connector="test")
        run_checks(conn, {})  # LOA-SMALL: 100 units under an LoA of 10, an open alert
        log_store.publish_checkpoint(conn, world.signer, ORIGIN)
    return world


async def _ask(serve_api: ServeApi, serial: str, use: str) -> dict[str, Any]:
    async with serve_api() as api:
        reply = await api.get("/v1/eligibility", params={"serial": serial, "use": use})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _failed(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"] if not r["ok"]]


async def test_eligible_with_every_reason_and_its_proof(
    article6: World, serve_api: ServeApi
) -> None:
    body = await _ask(serve_api, "a6t:1:1-100", "corsia")
    assert body["eligible"] is True and _failed(body) == []
    assert [r["code"] for r in body["reasons"]] == [
        "authorized",
        "purpose",
        "corresponding_adjustment",
        "not_used",
        "no_open_alerts",
    ]
    assert "LOA-CORSIA" in body["reasons"][0]["text"]
    (block,) = body["blocks"]
    assert block["proof"] is not None and block["proof"]["leaf_index"] >= 0
    assert body["checkpoint"] is not None


async def test_a_standard_body_block_is_linked_to_the_loa_it_names(
    article6: World, serve_api: ServeApi
) -> None:
    body = await _ask(serve_api, "a6t:1:1001-1100", "corsia")
    assert body["eligible"] is True
    assert [a["authorization_id"] for a in body["authorizations"]] == ["LOA-CORSIA"]
    assert "not used in any registry (verra)" in body["reasons"][3]["text"]


async def test_purpose_another_oimp_or_another_party(article6: World, serve_api: ServeApi) -> None:
    assert _failed(await _ask(serve_api, "a6t:1:1-100", "sg-icc")) == ["purpose"]
    assert _failed(await _ask(serve_api, "a6t:1:201-300", "ndc:CH")) == []
    not_japan = await _ask(serve_api, "a6t:1:201-300", "ndc:jp")
    assert _failed(not_japan) == ["purpose"] and "not JP's NDC" in not_japan["reasons"][1]["text"]


async def test_adjustment_pending(article6: World, serve_api: ServeApi) -> None:
    body = await _ask(serve_api, "a6t:1:301-400", "corsia")
    assert _failed(body) == ["corresponding_adjustment"]
    assert "pending" in body["reasons"][2]["text"]


async def test_already_used_elsewhere(article6: World, serve_api: ServeApi) -> None:
    body = await _ask(serve_api, "a6t:1:401-500", "corsia")
    assert "not_used" in _failed(body)
    assert "verra A6T-used" in next(r for r in body["reasons"] if r["code"] == "not_used")["text"]


async def test_not_authorized_and_revoked(article6: World, serve_api: ServeApi) -> None:
    none = await _ask(serve_api, "a6t:1:501-600", "corsia")
    # the Article 6 checks found the same: an open unauthorized_use alert
    assert _failed(none) == ["authorized", "purpose", "no_open_alerts"]
    assert "no authorization" in none["reasons"][0]["text"]
    assert "unauthorized_use" in none["reasons"][-1]["text"]
    revoked = await _ask(serve_api, "a6t:1:601-700", "corsia")
    assert _failed(revoked) == ["authorized", "purpose", "no_open_alerts"]
    assert "LOA-REV" in revoked["reasons"][0]["text"] and "revoked" in revoked["reasons"][0]["text"]


async def test_acknowledged_and_paid_results(article6: World, serve_api: ServeApi) -> None:
    assert "acknowledged_only" in _failed(await _ask(serve_api, "a6t:1:701-800", "corsia"))
    paid = await _ask(serve_api, "a6t:1:801-900", "corsia")
    assert "paid_results" in _failed(paid)
    assert "NO paid ID" in next(r for r in paid["reasons"] if r["code"] == "paid_results")["text"]


async def test_open_alerts(article6: World, serve_api: ServeApi) -> None:
    body = await _ask(serve_api, "a6t:1:901-1000", "corsia")
    assert _failed(body) == ["no_open_alerts"]
    assert "authorization_exceeded" in body["reasons"][-1]["text"]


async def test_bad_use_and_unknown_units(article6: World, serve_api: ServeApi) -> None:
    async with serve_api() as api:
        bad = await api.get("/v1/eligibility", params={"serial": "a6t:1:1-100", "use": "tax"})
        missing = await api.get(
            "/v1/eligibility", params={"serial": "a6t:1:50000-50001", "use": "corsia"}
        )
        no_serial = await api.get("/v1/eligibility", params={"use": "corsia"})
    assert bad.status_code == 400 and bad.json()["field"] == "use"
    assert missing.status_code == 404
    assert no_serial.status_code == 400 and no_serial.json()["field"] == "serial"


def test_eligible_command(article6: World) -> None:
    url = article6.engine.url.render_as_string(hide_password=False)
    env = {"METAREGISTRY_DATABASE_URL": url}
    ok = CliRunner().invoke(main, ["eligible", "a6t:1:1-100", "--use", "corsia"], env=env)
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines()[0] == "a6t:1:1-100: eligible for corsia"
    assert "[ok] authorized: authorized by ID in LOA-CORSIA" in ok.output
    assert "1 blocks, 1 with an inclusion proof" in ok.output
    no = CliRunner().invoke(main, ["eligible", "a6t:1:301-400", "--use", "corsia"], env=env)
    assert no.exit_code == 1 and "[no] corresponding_adjustment" in no.output
    bad = CliRunner().invoke(main, ["eligible", "a6t:1:1-100", "--use", "tax"], env=env)
    assert bad.exit_code == 2


def test_engine_is_migrated(article6: World) -> None:
    with article6.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM article6_authorization")).scalar() == 6


async def test_party_ledger(article6: World, serve_api: ServeApi) -> None:
    """``GET /v1/article6/parties/{party}``: totals per year, open Article 6 alerts, AEF."""
    async with serve_api() as api:
        whole = (await api.get("/v1/article6/parties/id")).json()
        year = (await api.get("/v1/article6/parties/ID", params={"year": 2025})).json()
        bad = await api.get("/v1/article6/parties/IDN")
    assert whole["party"] == "ID" and "tables" not in whole
    totals = {t["year"]: t for t in whole["totals"]}
    # LoAs of 2024 (the revoked one not counted); nine blocks of 100 first-transferred in 2025
    assert totals[2024]["authorized"] == 100_000 + 1000 + 10
    assert totals[2025]["first_transferred"] == 900
    kinds = {a["kind"] for a in whole["alerts"]}
    assert {"authorization_exceeded", "unauthorized_use", "double_claim"} <= kinds
    assert all(a["status"] == "open" for a in whole["alerts"])
    actions = year["tables"]["Actions"]
    assert len(actions) == 9 and {a["aefT3ActionsFirstTransferringPartyId"] for a in actions} == {
        "IDN"
    }
    assert bad.status_code == 400


async def test_the_page_has_a_party_view(article6: World, serve_api: ServeApi) -> None:
    async with serve_api() as api:
        page = (await api.get("/")).text
        script = await api.get("/static/party.js")
    assert 'id="party-form"' in page and "/static/party.js" in page
    assert '<option value="double_claim">' in page
    assert script.status_code == 200 and "/v1/article6/parties/" in script.text


async def test_the_feed_filters_by_article6_kind(article6: World, serve_api: ServeApi) -> None:
    async with serve_api() as api:
        reply = await api.get("/v1/alerts", params={"kind": "double_claim"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    items = body["alerts"] if isinstance(body, dict) else body
    assert {a["kind"] for a in items} == {"double_claim"} and len(items) == 2
