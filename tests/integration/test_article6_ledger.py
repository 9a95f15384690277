"""The per-party ledger and its AEF export (issue 19, item 4): a generated world's records
read into the index through the connectors; the Bangkok e-bus transfer (Thailand to
Switzerland, 1,916 t) in Thailand's 2023 report of every world; the XLSX read back with
openpyxl (sheet and column names of the template); CSV and JSON; the party API."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry import plugins
from metaregistry.article6.aef import COLUMNS, SHEETS, tables
from metaregistry.article6.ledger import ledger
from metaregistry.article6.prepare import prepare_authorizations
from metaregistry.article6.store import upsert_authorizations
from metaregistry.cli import main
from metaregistry.index import store
from metaregistry.mock.world import generate_world, world_records
from metaregistry.pipeline import prepare_page

STAMP = "2026-12-05T00:00:00.000000Z"


def _load(engine: sa.Engine, world: Path) -> None:
    """The world's TCCR and SRN-PPI credits and authorizations, through their connectors."""
    for name, credits, loas in (
        ("tccr", "tccr/tver-credits.ndjson", "tccr/authorizations.ndjson"),
        ("srn-ppi", "srn-ppi/unit-karbon.ndjson", "srn-ppi/otorisasi.ndjson"),
    ):
        connector = plugins.load(name)
        page = prepare_page(connector, list(world_records(world, credits)), STAMP)
        records = list(connector.read_file(world / loas))
        prepared = prepare_authorizations(connector, records, STAMP)
        assert prepared.quarantined == []
        with engine.begin() as conn:
            store.upsert_blocks(conn, page.blocks, connector=name)
            upsert_authorizations(conn, prepared.authorizations, connector=name)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bangkok_e_bus_is_in_thailands_2023_report(
    engine: sa.Engine, tmp_path: Path, seed: int
) -> None:
    world = tmp_path / "world"
    generate_world(seed, 1500, world)
    _load(engine, world)
    with engine.connect() as conn:
        book = ledger(conn, "TH")
    report = tables(book, 2023)
    (ebus,) = [
        r for r in report["Actions"] if r["aefT3ActionsAuthorizationId"] == "TGO-LoA-2023-0001"
    ]
    assert ebus["aefT3ActionsType"] == "First transfer"
    assert ebus["aefT3ActionsQuantityTCo2"] == 1916
    assert ebus["aefT3ActionsAcquiringPartyId"] == "CHE"
    assert ebus["aefT3ActionsFirstTransferringPartyId"] == "THA"
    assert ebus["aefT3ActionsDate"] == "2023-12-01"
    assert ebus["aefT3ActionsVintageYear"] == 2022
    assert "corresponding adjustment applied" in ebus["aefT3ActionsAdditionalInformation"]
    assert "records: tccr/" in ebus["aefT3ActionsAdditionalInformation"]
    # every action of the year is a TH-hosted block dated 2023; the totals agree with them
    assert all(r["aefT3ActionsDate"].startswith("2023") for r in report["Actions"])
    totals = book.totals()
    first = sum(
        r["aefT3ActionsQuantityTCo2"]
        for r in report["Actions"]
        if r["aefT3ActionsType"] == "First transfer"
    )
    assert totals[2023]["first_transferred"] == first >= 1916
    assert "TGO-LoA-2023-0001" in {r["aefT2AuthorizationsId"] for r in report["Authorizations"]}
    # Indonesia's ledger holds none of Thailand's
    with engine.connect() as conn:
        indonesia = tables(ledger(conn, "ID"), 2023)
    assert all(r["aefT3ActionsFirstTransferringPartyId"] == "IDN" for r in indonesia["Actions"])
    assert not any(
        r["aefT3ActionsAuthorizationId"] == "TGO-LoA-2023-0001" for r in indonesia["Actions"]
    )


def test_report_command_xlsx_csv_and_json(
    engine: sa.Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = tmp_path / "world"
    generate_world(4, 1500, world)
    _load(engine, world)
    monkeypatch.chdir(tmp_path)
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    xlsx, csv_dir = tmp_path / "th-2023.xlsx", tmp_path / "csv"
    result = CliRunner().invoke(
        main,
        [
            "article6",
            "report",
            "--party",
            "th",
            "--year",
            "2023",
            "--xlsx",
            str(xlsx),
            "--csv",
            str(csv_dir),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(xlsx, read_only=True)
    assert (
        book.sheetnames
        == list(SHEETS)
        == [
            "Submission",
            "Authorizations",
            "Actions",
            "Holdings",
            "Authorized entities",
        ]
    )
    for sheet in SHEETS:
        rows = list(book[sheet].iter_rows(values_only=True))
        assert rows[0] == COLUMNS[sheet], sheet
    actions = list(book["Actions"].iter_rows(values_only=True))
    header = actions[0]
    ebus = [dict(zip(header, r, strict=True)) for r in actions[1:] if "TGO-LoA-2023-0001" in r]
    assert len(ebus) == 1 and ebus[0]["aefT3ActionsQuantityTCo2"] == 1916
    submission = list(book["Submission"].iter_rows(values_only=True))
    assert submission[1] == ("THA", 2023, 1)
    book.close()
    assert sorted(p.name for p in csv_dir.iterdir()) == [
        "Actions.csv",
        "Authorizations.csv",
        "Authorized_entities.csv",
        "Holdings.csv",
        "Submission.csv",
    ]
    assert (csv_dir / "Authorized_entities.csv").read_text().strip() == ",".join(
        COLUMNS["Authorized entities"]
    )
    as_json = CliRunner().invoke(
        main, ["article6", "report", "--party", "TH", "--year", "2023", "--json"], env=env
    )
    body = json.loads(as_json.output)
    assert body["format"].startswith("AEF V2")
    assert any(r["aefT3ActionsQuantityTCo2"] == 1916 for r in body["tables"]["Actions"])
