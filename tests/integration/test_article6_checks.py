"""The Article 6 checks (issue 19, item 2): each rule fires on its pattern and stays quiet on
its near miss (a use exactly at the LoA's quantity or the cap, a corresponding adjustment
pending, a JCM ITMO authorized by both parties, a vintage outside a paid period); alerts go
through the lifecycle (opened, resolved when the facts change) and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry.article6.checks import run_checks
from metaregistry.article6.store import upsert_authorizations
from metaregistry.authorization import Authorization
from metaregistry.canonical import hash_json
from metaregistry.cli import main
from metaregistry.detect.alerts import AlertQuery, list_alerts
from metaregistry.index import store
from metaregistry.index.db import create_engine
from metaregistry.model import UnitBlock

STAMP = "2026-12-05T00:00:00.000000Z"


def _block(
    record_id: str,
    start: int,
    qty: int,
    *,
    registry: str = "srn-ppi",
    country: str = "ID",
    loa: str | None = None,
    transfer: str | None = "2025-03-01",
    ca: str | None = "applied",
    project: str | None = None,
    vintage: int = 2024,
    status: str = "transferred",
) -> UnitBlock:
    b = UnitBlock(
        registry=registry,
        record_id=record_id,
        serial=f"{registry}-{record_id}",
        scheme=registry,
        scope="1",
        block_start=start,
        block_end=start + qty - 1,
        quantity=qty,
        status=status,
        country=country,
        project_id=project,
        vintage_start=f"{vintage}-01-01",
        vintage_end=f"{vintage}-12-31",
        authorization_id=loa,
        first_transfer_date=transfer,
        corresponding_adjustment=ca if transfer else None,
    )
    b.record_hash = hash_json(b.content())
    b.raw_hash = hash_json({"id": record_id, "registry": registry})
    b.observed_at = STAMP
    return b


def _auth(ident: str, kind: str = "loa", **fields: object) -> Authorization:
    values: dict[str, object] = {
        "registry": "srn-ppi",
        "authorization_id": ident,
        "kind": kind,
        "host_party": "ID",
        "date": "2024-01-10",
    }
    values.update(fields)
    a = Authorization(**values)  # type: ignore[arg-type]
    a.record_hash = hash_json(a.content())
    a.raw_hash = hash_json({"a": ident})
    a.observed_at = STAMP
    return a


def _store(engine: sa.Engine, blocks: list[UnitBlock], auths: list[Authorization]) -> None:
    with engine.begin() as conn:
        store.upsert_blocks(conn, blocks, connector="test")
        upsert_authorizations(conn, auths, connector="test")


def _found(engine: sa.Engine, caps: dict[str, dict[int, int]] | None = None) -> dict[str, str]:
    """rule -> subject of every finding (each rule here has at most one)."""
    with engine.begin() as conn:
        report = run_checks(conn, caps or {})
    out: dict[str, str] = {}
    for d in report.drafts:
        assert d.rules[0] not in out, f"two findings of {d.rules[0]}"
        out[d.rules[0].removeprefix("article6:")] = d.scope
    return out


def test_loa_quantity_fires_past_it_and_not_at_it(engine: sa.Engine) -> None:
    _store(
        engine,
        [
            _block("a1", 1, 600, loa="LOA-A"),
            _block("a2", 601, 400, loa="LOA-A", status="retired", transfer=None),
            # the same units shown by another registry count once
            _block("a3", 1, 600, loa="LOA-A", registry="srn-ppi-mirror"),
            _block("b1", 5001, 1001, loa="LOA-B"),
        ],
        [_auth("LOA-A", quantity=1000), _auth("LOA-B", quantity=1000)],
    )
    found = _found(engine)
    assert found == {"loa-quantity": "srn-ppi:LOA-B"}


def test_export_cap_per_party_and_year(engine: sa.Engine) -> None:
    _store(
        engine,
        [
            _block("c1", 1, 700, loa="LOA-C"),
            _block("c2", 701, 300, loa="LOA-C"),  # 1,000 in 2025: exactly the cap
            _block("c3", 2001, 50, loa="LOA-C", transfer="2026-01-05"),  # 1,050 would be over
        ],
        [_auth("LOA-C", quantity=5000)],
    )
    assert _found(engine, {"ID": {2025: 1000, 2026: 40}}) == {"export-cap": "ID:2026"}
    assert _found(engine, {"ID": {2025: 1000, 2026: 50}}) == {}


def test_unauthorized_use_no_loa_revoked_and_ca(engine: sa.Engine) -> None:
    _store(
        engine,
        [
            _block("d1", 1, 10, loa="LOA-UNKNOWN"),
            _block("d2", 11, 10, loa="LOA-R"),
            _block("d3", 21, 10, loa="LOA-OK", ca="pending"),  # pending: inside its window
            _block("d4", 31, 10, loa="LOA-OK", ca="not-applied"),
            # a host whose authorizations the index does not hold: nothing to say
            _block("d5", 41, 10, registry="tccr", country="TH", loa="TH-LOA-1"),
        ],
        [_auth("LOA-R", status="revoked"), _auth("LOA-OK", quantity=100)],
    )
    with engine.begin() as conn:
        report = run_checks(conn, {})
    got = sorted((d.rules[0], d.scope) for d in report.drafts)
    assert got == [
        ("article6:ca-not-applied", "srn-ppi:d4"),
        ("article6:no-loa", "srn-ppi:d1"),
        ("article6:no-loa", "srn-ppi:d2"),
    ]
    assert all(d.kind == "unauthorized_use" for d in report.drafts)
    revoked = next(d for d in report.drafts if d.scope == "srn-ppi:d2")
    assert "LOA-R was revoked" in revoked.explanation


def test_jcm_itmo_needs_both_parties(engine: sa.Engine) -> None:
    both = _auth(
        "JCM-1", "jcm-estimate", registry="jcm", activity_id="ID001", authorized_by=["ID", "JP"]
    )
    japan_only = _auth(
        "JCM-2", "jcm-estimate", registry="jcm", activity_id="ID002", authorized_by=["JP"]
    )
    _store(
        engine,
        [
            _block("j1", 1, 10, registry="jcm-indonesia", project="ID001", loa="JCM-1"),
            _block("j2", 11, 10, registry="jcm-indonesia", project="ID002", loa="JCM-2"),
        ],
        [both, japan_only],
    )
    with engine.begin() as conn:
        (draft,) = run_checks(conn, {}).drafts
    assert (draft.rules, draft.scope) == (["article6:jcm-both-parties"], "jcm-indonesia:j2")
    assert "no authorization by ID" in draft.explanation


def test_double_claim_loack_and_paid_results(engine: sa.Engine) -> None:
    loack = _auth("ACK-1", "loack", activity_id="PRJ-ACK")
    paid = _auth(
        "RBP-1",
        "results-based-payment",
        activity_id="PRJ-REDD",
        acquiring_parties=["NO"],
        vintage_from=2016,
        vintage_to=2017,
        quantity=11_200_000,
    )
    _store(
        engine,
        [
            _block("k1", 1, 10, project="PRJ-ACK", loa="LOA-X"),
            _block("k2", 11, 10, project="PRJ-ACK", transfer=None, status="issued"),
            _block("r1", 21, 10, project="PRJ-REDD", vintage=2017, loa="LOA-X"),
            _block("r2", 31, 10, project="PRJ-REDD", vintage=2019, loa="LOA-X"),  # outside
        ],
        [loack, paid, _auth("LOA-X", quantity=1000)],
    )
    found = _found(engine)
    assert found == {
        "loack-transferred": "srn-ppi:ACK-1",
        "paid-results-transferred": "srn-ppi:RBP-1",
    }


def test_alerts_live_in_the_lifecycle_and_resolve(engine: sa.Engine) -> None:
    _store(engine, [_block("e1", 1, 1200, loa="LOA-E")], [_auth("LOA-E", quantity=1000)])
    with engine.begin() as conn:
        first = run_checks(conn, {})
    assert first.changes is not None and first.changes.opened == 1
    with engine.connect() as conn:
        (alert,) = list_alerts(conn, AlertQuery(kind=["authorization_exceeded"]))
    assert alert["status"] == "open" and alert["basis"] == "article6"
    assert "1,200 units" in alert["explanation"] and "200 beyond" in alert["explanation"]
    # the host amends the LoA to 1,500: the alert resolves
    _store(engine, [], [_auth("LOA-E", quantity=1500, status="amended")])
    with engine.begin() as conn:
        again = run_checks(conn, {})
    assert again.drafts == [] and again.changes is not None and again.changes.resolved == 1


def test_check_command(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_engine(db_url)
    try:
        from metaregistry.index.db import migrate

        migrate(engine)
        _store(engine, [_block("f1", 1, 20, loa="LOA-F")], [_auth("LOA-F", quantity=10)])
    finally:
        engine.dispose()
    result = CliRunner().invoke(
        main, ["article6", "check"], env={"METAREGISTRY_DATABASE_URL": db_url}
    )
    assert result.exit_code == 0, result.output
    assert "authorization_exceeded (high, article6:loa-quantity)" in result.output
    assert "1 opened" in result.output
    listed = CliRunner().invoke(
        main,
        ["alerts", "--kind", "authorization_exceeded", "--json"],
        env={"METAREGISTRY_DATABASE_URL": db_url},
    )
    assert listed.exit_code == 0, listed.output
    (alert,) = json.loads(listed.output)
    assert alert["basis"] == "article6" and alert["scope"] == "srn-ppi:LOA-F"


def test_checks_run_after_every_write(engine: sa.Engine) -> None:
    """The write paths' detection step runs the Article 6 checks too (sync, import, daemon)."""
    from metaregistry.settings import settings_from
    from metaregistry.sync import run_article6

    _store(engine, [_block("g1", 1, 30, loa="LOA-G")], [_auth("LOA-G", quantity=20)])
    settings = settings_from({"article6": {"export_caps": {"ID": {"2025": 25}}}})
    summary = run_article6(engine, settings)
    assert summary == {"findings": {"authorization_exceeded": 2}, "opened": 2, "resolved": 0}
    assert run_article6(engine, settings)["opened"] == 0  # the same findings: nothing new
