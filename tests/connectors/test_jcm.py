"""JCM: the grammar (one numbering per issuance, scope partner-issuance), one cursor-paged
stream per ledger, and ledgers whose shares and transfers read back as the world wrote them."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from metaregistry.connector import (
    ConnectorConfig,
    FatalSourceError,
    RawRecord,
    RecordError,
    RequestSpec,
)
from metaregistry.mock.world import generate_world, world_files, world_records
from metaregistry.pipeline import prepare_page
from metaregistry.serials import SerialError, parse_serial
from metaregistry.serials.national import format_jcm
from metaregistry_connectors.jcm import LEDGERS, LedgerStream, connector


def _holding(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "holding_id": "JP-0000000001",
        "ledger": "japan",
        "credit_serial": "JCM-ID-ID012-2022-0007-1-600",
        "partner_country": "ID",
        "project_ref": "ID012",
        "project_title": "JCM Solar Power Indonesia 12",
        "methodology": "ID_AM012",
        "vintage": 2022,
        "issuance_no": "0007",
        "issuance_total": 1000,
        "quantity": 600,
        "holding_status": "holding",
        "status_date": None,
        "status_note": None,
        "counterpart_ledger": None,
        "origin_serial": None,
        "authorization": None,
        "itmo_id": None,
        "first_transfer_date": None,
        "ca_status": None,
    }
    record.update(changes)
    return record


def test_both_ledgers_share_the_issuance_numbering() -> None:
    japan = parse_serial(format_jcm("ID", "ID012", 2022, 7, start=1, end=600))
    partner = parse_serial("JCM-ID-ID012-2022-0007-601-1000")
    assert (japan.scheme, japan.scope) == (partner.scheme, partner.scope) == ("jcm", "ID-0007")
    assert (japan.block_end, partner.block_start) == (600, 601)
    assert (japan.project_id, japan.country) == ("JCM-ID012", "ID")


@pytest.mark.parametrize(
    ("serial", "token", "message"),
    [
        ("JCM-ID-TH012-2022-0007-1-600", "TH012", "does not start with the partner 'ID'"),
        ("JCM-Id-ID012-2022-0007-1-600", "Id", "(partner) is not a two-letter country code"),
        ("JCM-ID-ID012-2022-7-1-600", "7", "(issuance) is not zero-padded to 4 digits"),
        (
            "JCM-ID-ID012-2022-01000-1-600",
            "01000",
            "(issuance) has more than 4 digits and a leading 0",
        ),
        ("JCM-ID-ID012-2022-0007-601-600", "600", "(block end) is before block start 601"),
    ],
)
def test_jcm_errors_name_the_token(serial: str, token: str, message: str) -> None:
    with pytest.raises(SerialError) as caught:
        parse_serial(serial)
    assert caught.value.token == token
    assert message in str(caught.value)


def test_a_received_holding_is_its_ledgers_block_with_an_origin() -> None:
    raw = _holding(
        holding_id="ID-0000000009",
        ledger="indonesia",
        holding_status="retired",
        status_date="2024-05-01",
        counterpart_ledger="japan",
        origin_serial="JCM-ID-ID012-2022-0007-1-600",
        authorization={
            "loa_ref": "LoA-ID-2024-0001",
            "purpose": "NDC+OIMP",
            "authorized_by": ["JP", "ID"],
        },
        ca_status="pending",
    )
    block = connector.normalize(RawRecord(raw, "t:1"))
    assert (block.registry, block.record_id, block.status) == (
        "jcm-indonesia",
        "ID-0000000009",
        "retired",
    )
    assert block.origin == "JCM-ID-ID012-2022-0007-1-600"
    assert (block.authorized_purpose, block.corresponding_adjustment) == ("ndc-and-oimp", "pending")
    assert block.status_date == "2024-05-01"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"holding_status": "held"}, "holding_status"),
        ({"ledger": "Japan Ledger"}, "ledger"),
        ({"quantity": "600"}, "quantity"),
        ({"status_date": "1/5/2024"}, "status_date"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        connector.normalize(RawRecord(_holding(**changes), "t:1"))
    assert caught.value.field == field


def _reply(request: RequestSpec, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200, content=json.dumps(body).encode(), request=httpx.Request("GET", request.url)
    )


def test_one_cursor_paged_stream_per_ledger() -> None:
    streams = connector.streams(ConnectorConfig(name="jcm", base_url="http://jcm.test/", token="t"))
    # a stream per ledger, then the projects' authorizations (issue 19)
    assert [s.name for s in streams] == [*LEDGERS, "authorizations"]
    assert [s.record_type for s in streams] == ["unit_block"] * len(LEDGERS) + ["authorization"]
    loas = streams[-1].first_request(None)
    assert loas is not None and loas.url == "http://jcm.test/authorizations"
    stream = streams[0]
    assert isinstance(stream, LedgerStream)
    first = stream.first_request(None)
    assert first is not None
    assert first.url == "http://jcm.test/ledgers/japan/credits" and "cursor" not in first.params
    assert first.headers["Authorization"] == "Bearer t"
    page = stream.parse_page(
        _reply(first, {"ledger": "japan", "items": [_holding()], "next_cursor": "bzoxMDA"}), first
    )
    assert page.cursor == {"cursor": "bzoxMDA"}
    assert page.next_request is not None and page.next_request.params["cursor"] == "bzoxMDA"
    assert page.next_request.token != first.token
    last = stream.parse_page(
        _reply(page.next_request, {"ledger": "japan", "items": [], "next_cursor": None}),
        page.next_request,
    )
    assert last.next_request is None and last.cursor == {}
    resumed = stream.first_request({"cursor": "bzoxMDA"})
    assert resumed is not None and resumed.params["cursor"] == "bzoxMDA"


def test_ledger_option_is_checked() -> None:
    with pytest.raises(FatalSourceError, match="ledgers"):
        connector.streams(
            ConnectorConfig(name="jcm", base_url="http://x", options={"ledgers": ["../etc"]})
        )


def test_world_ledgers_hold_disjoint_live_shares_and_mirrors(tmp_path: Path) -> None:
    generate_world(13, 3000, tmp_path, malformed=7)
    manifest = json.loads((tmp_path / "world.json").read_text())
    truth = json.loads((tmp_path / "truth.json").read_text())["cases"]
    blocks = []
    for relative in (f for f in world_files(tmp_path) if f.startswith("jcm/")):
        page = prepare_page(connector, world_records(tmp_path, relative), "2026-01-01T00:00:00Z")
        registry = "jcm-" + Path(relative).stem
        assert len(page.blocks) == manifest["registries"][registry]["records"]
        assert len(page.quarantined) == manifest["registries"][registry]["malformed"]
        blocks.extend(page.blocks)
    # Live holdings of different ledgers overlap only where a double issuance was planted.
    planted = {
        (c["overlap"]["scope"], c["overlap"]["start"])
        for c in truth
        if c["overlap"]["scheme"] == "jcm" and c["pattern"] == "double-issuance"
    }
    live: dict[str, list[Any]] = defaultdict(list)
    for block in blocks:
        if block.status == "issued":
            live[block.scope].append(block)
    for scope, members in live.items():
        for a in members:
            for b in members:
                if (
                    a.registry < b.registry
                    and a.block_start <= b.block_end
                    and b.block_start <= a.block_end
                ):
                    assert (scope, max(a.block_start, b.block_start)) in planted
    mirrors = [c for c in truth if c["pattern"] == "jcm-mirror"]
    assert mirrors and all(c["blocks"][0]["status"] == "transferred" for c in mirrors)


def test_issuance_numbers_outgrow_their_padding() -> None:
    # a 1M-record world reaches issuance 10000: five digits, its own scope
    from metaregistry.serials import parse_serial

    parsed = parse_serial("JCM-ID-ID014-2018-10000-3-31")
    assert (parsed.scheme, parsed.scope, parsed.block_start, parsed.block_end) == (
        "jcm",
        "ID-10000",
        3,
        31,
    )


def test_the_issuance_total_is_kept_and_a_share_past_it_is_a_quantity_mismatch() -> None:
    """Issue 23: ``issuance_total`` was dropped on the way in, so shares adding up to more
    than the issuance went unseen. Kept, the partner's share reaching past it is an alert
    naming the units never issued; a bad total is quarantined naming the field."""
    from metaregistry.detect.findings import beyond_issuance

    japan = connector.normalize(RawRecord(_holding(), "t:1"))
    assert japan.issuance_total == 1000
    over = connector.normalize(
        RawRecord(
            _holding(
                holding_id="ID-0000000002",
                ledger="indonesia",
                credit_serial="JCM-ID-ID012-2022-0007-601-1100",
                quantity=500,
            ),
            "t:2",
        )
    )
    assert (over.block_start, over.block_end, over.issuance_total) == (601, 1100, 1000)
    assert beyond_issuance([japan]) == []
    (alert,) = beyond_issuance([japan, over])
    assert alert.kind == "quantity_mismatch"
    assert "1001" in alert.explanation and "1100" in alert.explanation
    with pytest.raises(RecordError) as info:
        connector.normalize(RawRecord(_holding(issuance_total="1,000"), "t:3"))
    assert info.value.field == "issuance_total"
