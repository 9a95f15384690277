"""``GET /v1/serials/{serial}`` over HTTP: where the units live, with history, links, alerts
and proofs a client can verify itself; helpful 400s and 404s; paging."""

from __future__ import annotations

import base64
from typing import Any, cast
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from api_world import (
    ALERT_ID,
    GS_SERIAL,
    ORIGIN,
    V_CAN,
    V_ISS,
    V_RET,
    Api,
    World,
    block,
    verra_serial,
)

from metaregistry.api.lookup import first_version_json, history_json, origin_links
from metaregistry.api.queries import BLOCK_COLUMNS, Db
from metaregistry.api.reader import Reader
from metaregistry.index.store import upsert_blocks
from metaregistry.log import merkle
from metaregistry.log import store as log_store
from metaregistry.log.checkpoint import verify_checkpoint
from metaregistry.log.leaf import BlockLeaf, EventLeaf

pytestmark = pytest.mark.anyio


def by_record(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["record_id"]: b for b in answer["blocks"]}


async def lookup(api: Api, serial: str, **params: Any) -> dict[str, Any]:
    response = await api.get(f"/v1/serials/{quote(serial, safe='')}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


async def test_a_registry_serial_finds_every_block_holding_its_units(api: Api) -> None:
    answer = await lookup(api, V_RET)
    assert answer["query"]["family"] == "verra"
    assert (answer["query"]["block_start"], answer["query"]["block_end"]) == (1100, 1199)
    blocks = by_record(answer)
    # The issuance containing it, the retirement itself, and tccr's overlapping claim.
    assert set(blocks) == {"v-iss", "v-ret", "t-dup"}
    assert blocks["t-dup"]["overlap"] == {"block_start": 1100, "block_end": 1149, "quantity": 50}
    assert blocks["v-iss"]["overlap"] == {"block_start": 1100, "block_end": 1199, "quantity": 100}
    assert answer["summary"]["registries"] == [
        {"registry": "tccr", "statuses": ["retired"]},
        {"registry": "verra", "statuses": ["issued", "retired"]},
    ]
    assert [b["block_start"] for b in answer["blocks"]] == sorted(
        b["block_start"] for b in answer["blocks"]
    )
    assert answer["next_cursor"] is None


async def test_both_sides_of_a_double_use_show_the_open_alert(api: Api) -> None:
    blocks = by_record(await lookup(api, "vcs::1120"))
    for record in ("v-ret", "t-dup"):
        (alert,) = blocks[record]["alerts"]
        assert alert["id"] == ALERT_ID
        assert alert["kind"] == "double_use"
        assert alert["status"] == "open"
        assert alert["registries"] == ["verra", "tccr"]
        assert alert["overlap"] == {"block_start": 1100, "block_end": 1149, "quantity": 50}
    assert blocks["v-iss"]["alerts"] == []


async def test_units_outside_the_overlap_have_no_alert(api: Api) -> None:
    answer = await lookup(api, "vcs::1150-1199")
    assert set(by_record(answer)) == {"v-iss", "v-ret"}
    assert answer["summary"]["open_alerts"] == 1  # v-ret's alert covers other units of it


async def test_a_conversion_links_source_and_target(api: Api) -> None:
    blocks = by_record(await lookup(api, "vcs::1550"))
    assert set(blocks) == {"v-iss", "v-can", "s-conv"}
    target_links = blocks["s-conv"]["links"]
    assert [(lk["relation"], lk.get("direction"), lk["record_id"]) for lk in target_links] == [
        ("conversion", "from", "v-can")
    ]
    source_links = blocks["v-can"]["links"]
    assert [(lk["relation"], lk.get("direction"), lk["record_id"]) for lk in source_links] == [
        ("conversion", "to", "s-conv")
    ]
    assert blocks["s-conv"]["origin"] == V_CAN


async def test_origin_links_come_from_the_origin_field_alone(serve_api: Any, world: World) -> None:
    # Without detection's link table, the origin serial still links the two blocks.
    with world.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE block_link")
    async with serve_api() as api:
        blocks = by_record(await lookup(api, V_CAN))
    assert [
        (lk["relation"], lk["record_id"], lk["status"]) for lk in blocks["s-conv"]["links"]
    ] == [("origin", "v-can", "cancelled")]
    assert [(lk["relation"], lk["record_id"]) for lk in blocks["v-can"]["links"]] == [
        ("derived", "s-conv")
    ]


async def test_history_lists_every_version_with_what_changed(api: Api) -> None:
    blocks = by_record(await lookup(api, V_ISS))
    history = blocks["v-iss"]["history"]
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["changes"] == {}
    assert history[1]["changes"] == {"status_date": {"from": None, "to": "2026-01-15"}}
    assert blocks["v-iss"]["version"] == 2
    assert blocks["v-iss"]["status_date"] == "2026-01-15"


async def test_provenance_names_the_raw_record_and_the_connector(api: Api, world: World) -> None:
    blocks = by_record(await lookup(api, GS_SERIAL))
    expected = world.blocks["g-1"]
    assert blocks["g-1"]["provenance"] == {
        "connector": "gold-standard",
        "raw_hash": expected.raw_hash,
        "record_hash": expected.record_hash,
        "observed_at": expected.observed_at,
    }


async def test_each_proof_verifies_against_the_signed_checkpoint(api: Api, world: World) -> None:
    answer = await lookup(api, "vcs::1000-1999")
    checkpoint = verify_checkpoint(answer["checkpoint"]["note"], world.signer.verifier())
    assert base64.b64decode(answer["checkpoint"]["root"]) == checkpoint.root
    proved = 0
    for b in answer["blocks"]:
        proof = b["proof"]
        if proof["pending"]:
            continue
        leaf = BlockLeaf(
            b["registry"], b["record_id"], b["version"], b["provenance"]["record_hash"]
        )
        leaf_hash = merkle.leaf_hash(leaf.data())
        assert proof["leaf_hash"] == leaf_hash.hex()
        merkle.verify_inclusion(
            proof["leaf_index"],
            checkpoint.size,
            leaf_hash,
            [bytes.fromhex(h) for h in proof["hashes"]],
            checkpoint.root,
        )
        proved += 1
    assert proved == 4  # v-ret, t-dup, v-can, s-conv; v-iss v2 came after the checkpoint


async def test_a_version_logged_after_the_checkpoint_is_pending(api: Api) -> None:
    blocks = by_record(await lookup(api, V_ISS))
    proof = blocks["v-iss"]["proof"]
    assert proof["pending"] is True
    assert proof["hashes"] is None
    assert proof["leaf_index"] >= (await lookup(api, V_ISS))["checkpoint"]["size"]


async def test_unknown_units_are_404_with_a_hint(api: Api) -> None:
    response = await api.get("/v1/serials/vcs::5")
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found"
    assert body["value"] == "vcs::5"
    assert "none covering these units" in body["hint"]
    other = (await api.get("/v1/serials/acr:9:5")).json()
    assert "no block numbered in scheme 'acr', scope '9'" in other["hint"]


@pytest.mark.parametrize(
    ("serial", "code", "words"),
    [
        ("not-a-serial", "invalid_serial", "no known serial format"),
        (
            "19385-2000-1000-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1",
            "invalid_serial",
            "2000",
        ),
        ("vcs::9-3", "invalid_serial", "block start 9 is after block end 3"),
        ("vcs::99999999999999999999", "invalid_serial", "larger than the largest"),
        ("x" * 513, "serial_too_long", "513 characters"),
    ],
)
async def test_a_serial_that_does_not_parse_is_400_naming_the_problem(
    api: Api, serial: str, code: str, words: str
) -> None:
    response = await api.get(f"/v1/serials/{serial}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == code
    assert body["field"] == "serial"
    assert words in body["message"]


async def test_the_serial_length_limit_is_configurable(serve_api: Any) -> None:
    async with serve_api(max_serial_length=40) as api:
        response = await api.get(f"/v1/serials/{quote(V_ISS)}")
    assert response.status_code == 400
    assert response.json()["message"] == f"serial is {len(V_ISS)} characters long; the limit is 40"


async def test_pages_walk_every_block_once_in_order(api: Api) -> None:
    everything = await lookup(api, "vcs::0-5000")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        page = await lookup(api, "vcs::0-5000", **params)
        assert len(page["blocks"]) <= 2
        seen += [b["record_id"] for b in page["blocks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [b["record_id"] for b in everything["blocks"]]
    assert len(seen) == len(set(seen)) == 5


async def test_a_cursor_of_another_list_is_refused(api: Api) -> None:
    page = (await api.get("/v1/blocks", params={"scheme": "vcs", "limit": 1})).json()
    response = await api.get("/v1/serials/vcs::0-5000", params={"cursor": page["next_cursor"]})
    assert response.status_code == 400
    assert response.json()["field"] == "cursor"
    garbage = await api.get("/v1/serials/vcs::0-5000", params={"cursor": "%%%"})
    assert garbage.status_code == 400


async def test_a_serial_with_spaces_is_read_from_the_path(api: Api) -> None:
    cdm = "RW-5-1463953-2-2-0-7014 - RW-5-1467609-2-2-0-7014"
    response = await api.get(f"/v1/serials/{quote(cdm)}")
    assert response.status_code == 404  # parsed (no 400): the world has no CDM units
    assert "scheme 'cdm', scope 'RW-5'" in response.json()["message"]


async def test_a_sibling_serial_finds_the_same_units(api: Api) -> None:
    # Another serial naming part of the same units finds the same blocks.
    answer = await lookup(api, verra_serial(1190, 1210))
    assert set(by_record(answer)) == {"v-iss", "v-ret"}


async def test_proofs_verify_in_a_larger_log(serve_api: Any, world: World) -> None:
    # Grow the log past a few levels with unrelated alert-event leaves, then re-sign.
    with world.engine.begin() as conn:
        log_store.append_leaves(conn, [EventLeaf(f"ev{i}", f"{i:064x}") for i in range(53)])
        log_store.publish_checkpoint(conn, world.signer, ORIGIN)
    async with serve_api() as api:
        answer = await lookup(api, "vcs::0-5000")
    checkpoint = verify_checkpoint(answer["checkpoint"]["note"], world.signer.verifier())
    assert checkpoint.size == 60
    for b in answer["blocks"]:
        proof = b["proof"]
        assert proof["pending"] is False
        leaf = BlockLeaf(
            b["registry"], b["record_id"], b["version"], b["provenance"]["record_hash"]
        )
        merkle.verify_inclusion(
            proof["leaf_index"],
            60,
            merkle.leaf_hash(leaf.data()),
            [bytes.fromhex(h) for h in proof["hashes"]],
            checkpoint.root,
        )


async def test_a_new_block_shows_in_the_next_lookup(api: Api, world: World) -> None:
    # Answers may be served from memory, but never once the database has changed.
    before = await lookup(api, "vcs::1550")
    again = await lookup(api, "vcs::1550")
    assert again == before
    with world.engine.begin() as conn:
        upsert_blocks(
            conn,
            [block("jcm-jp", "j-new", "JCM-JP-1-1550-1559", 1550, 1559, "issued")],
            connector="jcm",
        )
    after = await lookup(api, "vcs::1550")
    assert set(by_record(after)) == set(by_record(before)) | {"j-new"}


def test_a_first_version_history_from_the_row_equals_the_versions_table(
    readonly: sa.Engine, world: World
) -> None:
    """The lookup builds a version-1 block's history from its row, not the versions
    table: every such block of the world must read the same both ways."""

    def both(db: Db) -> list[tuple[Any, Any]]:
        rows = db.rows(f"SELECT {', '.join(BLOCK_COLUMNS)} FROM unit_block WHERE version = 1")
        versions = db.versions_of([(r["registry"], r["record_id"]) for r in rows])
        return [
            (
                [first_version_json(r)],
                history_json(versions[(r["registry"], r["record_id"])], current=1),
            )
            for r in rows
        ]

    reader = Reader(readonly, threads=1)
    try:
        pairs = reader.call(both)
    finally:
        reader.close()
    assert len(pairs) >= 5
    for from_row, from_table in pairs:
        assert from_row == from_table


async def test_a_block_whose_origin_is_its_own_serial_never_links_to_itself() -> None:
    # Seen on a Toucan block: origin == its own serial listed the block as its own origin
    # and derived link. A block of another registry with that origin still links.
    def row(registry: str, record_id: str, serial: str, origin: str | None) -> dict[str, Any]:
        return {
            "registry": registry,
            "record_id": record_id,
            "serial": serial,
            "origin": origin,
            "status": "issued",
        }

    own = row("toucan", "t-1", "vcs::1-9", "vcs::1-9")
    source = row("verra", "v-1", "vcs::1-9", None)
    links = origin_links(cast(Db, None), [own, source])
    assert [(lk["relation"], lk["record_id"]) for lk in links[("toucan", "t-1")]] == [
        ("origin", "v-1")
    ]
    assert [(lk["relation"], lk["record_id"]) for lk in links[("verra", "v-1")]] == [
        ("derived", "t-1")
    ]
    alone = origin_links(cast(Db, None), [own])
    assert alone[("toucan", "t-1")] == []
