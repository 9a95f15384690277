"""Article 6 authorizations as records (issue 19, item 1): versions kept, hashed and logged
like blocks; bad records quarantined naming field and value; the ``article6`` commands."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry import plugins
from metaregistry.article6.prepare import prepare_authorizations
from metaregistry.article6.store import (
    authorizations,
    get_authorization,
    history,
    upsert_authorizations,
)
from metaregistry.authorization import Authorization
from metaregistry.canonical import canonicalize
from metaregistry.cli import main
from metaregistry.connector import RawRecord
from metaregistry.index.db import create_engine
from metaregistry.log import merkle
from metaregistry.log import store as log_store
from metaregistry.log.leaf import AuthorizationLeaf, parse_leaf
from metaregistry.settings import Settings

STAMP = "2026-12-05T00:00:00.000000Z"

#: The Bangkok e-bus programme's authorization (Thailand to Switzerland, first transfer 2023).
EBUS = {
    "registry": "tccr",
    "authorization_id": "TH-LOA-2023-001",
    "kind": "loa",
    "host_party": "TH",
    "acquiring_parties": ["CH"],
    "authorized_by": "TH",
    "date": "2022-11-30",
    "activity_id": "TVER-P-2022-EBUS",
    "vintage_from": 2022,
    "vintage_to": 2030,
    "quantity": "500000",
    "purposes": "ndc",
    "first_transfer": "issuance",
    "status": "active",
}


def _prepare(*payloads: dict[str, object]) -> tuple[list[Authorization], list[str]]:
    connector = plugins.load_all()["generic"]
    records = [RawRecord(p, f"test:{i}") for i, p in enumerate(payloads)]
    prepared = prepare_authorizations(connector, records, STAMP)
    return prepared.authorizations, [q.error for q in prepared.quarantined]


def test_versions_are_kept_hashed_and_logged(engine: sa.Engine) -> None:
    (first,), errors = _prepare(EBUS)
    assert errors == []
    assert first.acquiring_parties == ["CH"] and first.quantity == 500_000
    with engine.begin() as conn:
        stored = upsert_authorizations(conn, [first], connector="generic")
        assert [s.version for s in stored] == [1]
        # the same facts again write nothing
        assert upsert_authorizations(conn, [first], connector="generic") == []
    (amended,), _ = _prepare(
        dict(EBUS, quantity=600_000, status="amended", status_date="2023-06-01")
    )
    (revoked,), _ = _prepare(dict(EBUS, status="revoked", status_date="2024-01-15"))
    with engine.begin() as conn:
        assert [s.version for s in upsert_authorizations(conn, [amended], connector="generic")] == [
            2
        ]
        assert [s.version for s in upsert_authorizations(conn, [revoked], connector="generic")] == [
            3
        ]
    with engine.connect() as conn:
        versions = history(conn, "tccr", "TH-LOA-2023-001")
        current = get_authorization(conn, "tccr", "TH-LOA-2023-001")
        size = log_store.tree_size(conn)
        leaves = {leaf.leaf_index: leaf for leaf in log_store.leaves(conn, 0, size)}
        root = log_store.root(conn, size)
        proofs = {v.leaf_idx: log_store.inclusion_proof(conn, v.leaf_idx, size) for v in versions}
    assert [v.version for v in versions] == [1, 2, 3]
    assert [v.authorization.quantity for v in versions] == [500_000, 600_000, 500_000]
    assert current is not None and current.status == "revoked"
    assert size == 3
    for entry in versions:
        auth = entry.authorization
        # the record hash is the SHA-256 of the content's RFC 8785 bytes
        assert auth.record_hash == hashlib.sha256(canonicalize(auth.content())).hexdigest()
        leaf = parse_leaf(leaves[entry.leaf_idx].data)
        assert leaf == AuthorizationLeaf("tccr", "TH-LOA-2023-001", entry.version, auth.record_hash)
        merkle.verify_inclusion(
            entry.leaf_idx, size, merkle.leaf_hash(leaf.data()), proofs[entry.leaf_idx], root
        )


def test_bad_records_are_quarantined_naming_field_and_value() -> None:
    good, errors = _prepare(
        dict(EBUS, host_party="th"),
        dict(EBUS, vintage_from=2030, vintage_to=2022),
        dict(EBUS, purposes="ndc;tax"),
        dict(EBUS, quantity="many"),
        dict(EBUS, loa_number="X"),
        {k: v for k, v in EBUS.items() if k != "date"},
        dict(EBUS, kind="letter"),
    )
    assert good == []
    assert len(errors) == 7
    assert "host_party: is not a two-letter country code" in errors[0] and '"th"' in errors[0]
    assert "vintage_to: 2022 is before vintage_from 2030" in errors[1]
    assert "purposes" in errors[2] and "tax" in errors[2]
    assert "quantity" in errors[3] and "many" in errors[3]
    assert "loa_number" in errors[4]
    assert "date" in errors[5] and "required" in errors[5]
    assert "kind" in errors[6] and "letter" in errors[6]


def test_list_fields_hash_the_same_in_any_order() -> None:
    (a,), _ = _prepare(dict(EBUS, acquiring_parties=["SG", "CH"], purposes=["oimp", "ndc"]))
    (b,), _ = _prepare(dict(EBUS, acquiring_parties="CH;SG", purposes="ndc;oimp"))
    assert a.record_hash == b.record_hash
    assert a.acquiring_parties == ["CH", "SG"]


def test_import_command_stores_lists_and_shows_history(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    rbp = {
        "registry": "srn-ppi",
        "authorization_id": "RBP-NO-2016",
        "kind": "results-based-payment",
        "host_party": "ID",
        "acquiring_parties": ["NO"],
        "date": "2020-10-01",
        "vintage_from": 2016,
        "vintage_to": 2017,
        "quantity": 11_200_000,
        "jurisdiction": "national REDD+",
        "status": "active",
    }
    path = tmp_path / "auth.ndjson"
    path.write_text(
        "\n".join(json.dumps(x) for x in (EBUS, rbp, dict(EBUS, authorization_id="")))
        + "\nnot json\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(main, ["article6", "import", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "4 records, 2 versions written, 0 unchanged, 2 quarantined" in result.output
    again = runner.invoke(main, ["article6", "import", str(path)], env=env)
    assert "0 versions written, 2 unchanged" in again.output
    listed = runner.invoke(main, ["article6", "authorizations", "--party", "ID"], env=env)
    assert "srn-ppi/RBP-NO-2016  results-based-payment" in listed.output
    assert "11,200,000 t" in listed.output and "1 authorizations" in listed.output
    shown = runner.invoke(main, ["article6", "show", "tccr", "TH-LOA-2023-001"], env=env)
    assert shown.exit_code == 0 and shown.output.startswith("version 1 (leaf ")
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert [a.authorization_id for a in authorizations(conn)] == [
                "RBP-NO-2016",
                "TH-LOA-2023-001",
            ]
            assert log_store.latest_checkpoint(conn) is not None
            reasons = [r[0] for r in conn.execute(sa.text("SELECT error FROM quarantine"))]
    finally:
        engine.dispose()
    assert any("authorization_id" in r for r in reasons)
    assert any("not JSON" in r for r in reasons)


def test_export_caps_are_typed_settings() -> None:
    settings = Settings.model_validate({"article6": {"export_caps": {"ID": {"2025": 1000}}}})
    assert settings.article6.cap("ID", 2025) == 1000
    assert settings.article6.cap("ID", 2024) is None
    with pytest.raises(ValueError, match="'id' is not an ISO 3166-1 alpha-2"):
        Settings.model_validate({"article6": {"export_caps": {"id": {"2025": 1}}}})
    with pytest.raises(ValueError):
        Settings.model_validate({"article6": {"export_caps": {"ID": {"2025": -1}}}})


def test_audit_finds_a_rewritten_or_deleted_authorization_version(engine: sa.Engine) -> None:
    from metaregistry.audit import audit

    (first,), _ = _prepare(EBUS)
    (amended,), _ = _prepare(dict(EBUS, quantity=600_000, status="amended"))
    with engine.begin() as conn:
        upsert_authorizations(conn, [first], connector="generic")
        upsert_authorizations(conn, [amended], connector="generic")
    with engine.connect() as conn:
        clean = audit(conn)
    assert clean.findings == [] and clean.checked["authorization versions"] == 2
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE article6_authorization_version SET content = REPLACE(content, "
                "'600000', '900000') WHERE version = 2"
            )
        )
        conn.execute(sa.text("DELETE FROM article6_authorization_version WHERE version = 1"))
    with engine.connect() as conn:
        problems = [str(f) for f in audit(conn).findings]
    assert any("version 2: its content does not hash" in p for p in problems), problems
    assert any("version 1: the log holds this version" in p for p in problems), problems
