"""The HTTP streams of ``cercarbono``, ``regen`` and ``stellar``, against respx-mocked sources
whose bodies are built from the real files in the shapes the real services answer with
(see each connector's README for what is confirmed and what assumed)."""

from __future__ import annotations

import asyncio
import base64
import csv
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry.cli import main
from metaregistry.connector import Connector, ConnectorConfig, FatalSourceError
from metaregistry.index import store
from metaregistry.model import UnitBlock
from metaregistry.retry import RetryPolicy
from metaregistry.sync import SourceReport, sync_connector
from metaregistry_connectors.cercarbono import connector as cercarbono
from metaregistry_connectors.regen import connector as regen
from metaregistry_connectors.regen.api import BATCHES_PATH, RegenBatches
from metaregistry_connectors.stellar import connector as stellar
from metaregistry_connectors.stellar.api import COLUMNS

pytestmark = pytest.mark.realdata

POLICY = RetryPolicy(base=0.001, cap=0.01)
CERCARBONO = "carbonplan-offsetsdb/cercarbono"
REGEN = "regen-c01-verra-bridge/c01_credit_batches.csv"
STELLAR = "stellarcarbon-sc-data"


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sync(engine: sa.Engine, connector: Connector, base: str, **options: Any) -> SourceReport:
    config = ConnectorConfig(name=connector.name, base_url=base, options=options)
    return asyncio.run(sync_connector(engine, connector, config, policy=POLICY))


def stored(engine: sa.Engine, registry: str) -> list[UnitBlock]:
    with engine.connect() as conn:
        return [b for b in store.blocks(conn) if b.registry == registry]


def hashes(engine: sa.Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {b.record_id: b.record_hash for b in store.blocks(conn)}


# --- Cercarbono (EcoRegistry front-end API) ---------------------------------------------

ECO = "https://api-front.eco.test"
OFF_STANDARD = 209  # a project of another standard the platform hosts (not tCO2e)


def eco_serial(row: dict[str, str]) -> dict[str, Any]:
    """An issuance row as ``analytics/projects`` serves it: typed JSON values."""
    return {
        "serial": row["serial"],
        "issued_quantity": int(row["issued_quantity"]),
        "issuance_date": row["issuance_date"],
        "year": int(row["year"]),
        "is_buffer": row["is_buffer"] == "True",
        "vintage_of_credits": row["vintage_of_credits"],
        "elegible": [{"description": "Voluntary compensation"}],
    }


class EcoRegistry:
    """The three endpoints, built from the real export rows; faults by path."""

    def __init__(self, real_data: Path) -> None:
        self.issued = rows(real_data / CERCARBONO / "issuances.csv")
        self.retired = rows(real_data / CERCARBONO / "retirements.csv")
        self.projects = sorted({int(r["serial"].split("_")[1]) for r in self.issued})
        self.faults: dict[str, list[httpx.Response]] = {}
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(path)
        if request.headers.get("platform") != "ecoregistry" or not request.headers.get("lng"):
            body = {"status": 0, "codeMessages": [{"codeMessage": "ERROR_401", "param": "invalid"}]}
            return httpx.Response(200, json=body)  # EcoRegistry refuses with a 200
        if self.faults.get(path):
            return self.faults[path].pop(0)
        if path == "/platform/project/public-by-standard/cercarbono-co2":
            projects = [{"id": n, "code": f"CDC-{n}", "name": f"P{n}"} for n in self.projects]
            return httpx.Response(200, json={"standardName": "Carbono", "projects": projects})
        if path == "/platform/analytics/projects":
            by_project: dict[int, list[dict[str, Any]]] = {n: [] for n in self.projects}
            for row in self.issued:
                by_project[int(row["serial"].split("_")[1])].append(eco_serial(row))
            feed = [{"id": n, "serials": s} for n, s in by_project.items()]
            feed.append({"id": OFF_STANDARD, "serials": [eco_serial(self.issued[0])]})
            return httpx.Response(200, json={"project": feed})
        if path == "/platform/analytics/get-retirements":
            ledger = [
                {
                    "id": index,
                    "project_id": int(row["project_id"]),
                    "serial": row["serial"],
                    "quantity": int(row["quantity"]),
                    "date": row["date"].replace(" ", "T") + ".000Z",
                    "vintage": row["vintage"],
                    "is_kg": 0,
                    "final_user": row["end_user"],
                    "country_final_user": "Colombia",
                    "reason_using": {"id": 1, "description": row["certificate_destination"]},
                }
                for index, row in enumerate(self.retired, start=1)
            ]
            ledger.append({**ledger[0], "id": 9999, "project_id": OFF_STANDARD})
            return httpx.Response(200, json={"retirements": ledger})
        return httpx.Response(404)


@pytest.fixture
def eco(real_data: Path) -> EcoRegistry:
    return EcoRegistry(real_data)


@respx.mock
def test_cercarbono_streams_read_the_standard_and_nothing_else(
    eco: EcoRegistry, engine: sa.Engine
) -> None:
    respx.route(host="api-front.eco.test").mock(side_effect=eco)
    eco.faults["/platform/analytics/get-retirements"] = [httpx.Response(503)]
    report = sync(engine, cercarbono, ECO)
    assert (report.outcome, report.error, report.quarantined) == ("ok", None, 0)
    assert report.seen == len(eco.issued) + len(eco.retired)
    blocks = stored(engine, "cercarbono")
    retired = [b for b in blocks if b.status == "retired"]
    assert sum(b.quantity for b in retired) == sum(int(r["quantity"]) for r in eco.retired)
    # No positions in the API's retirements: numbered 1..quantity in a record of their own.
    assert all(re.fullmatch(r"CDC_\S+ retirement \d+", b.record_id) for b in retired)
    assert {b.block_start for b in retired} == {1}
    assert not any(" 9999" in b.record_id for b in blocks)  # the other standard's
    # The 503 was retried; the project list was asked for before each feed.
    assert eco.calls.count("/platform/analytics/get-retirements") == 2


@respx.mock
def test_cercarbono_api_issuances_hash_like_the_export_rows(
    eco: EcoRegistry, engine: sa.Engine, db_url: str, real_data: Path
) -> None:
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    path = str(real_data / CERCARBONO / "issuances.csv")
    assert (
        CliRunner().invoke(main, ["import", "cercarbono", path, "--no-detect"], env=env).exit_code
        == 0
    )
    from_file = hashes(engine)
    respx.route(host="api-front.eco.test").mock(side_effect=eco)
    report = sync(engine, cercarbono, ECO)
    assert report.outcome == "ok"
    after = hashes(engine)
    assert {k: after[k] for k in from_file} == from_file


@respx.mock
def test_cercarbono_refusal_in_a_200_body_fails_the_source(
    eco: EcoRegistry, engine: sa.Engine
) -> None:
    respx.route(host="api-front.eco.test").mock(side_effect=eco)
    # Without the platform header EcoRegistry answers 200 with ERROR_401 in the body.
    report = sync(engine, cercarbono, ECO, headers={"platform": "elsewhere"})
    assert report.outcome == "failed"
    assert "refused" in (report.error or "") and "ERROR_401" in (report.error or "")
    assert stored(engine, "cercarbono") == []


def test_cercarbono_resumes_with_the_feed_after_the_project_list() -> None:
    (issuances, _) = cercarbono.streams(ConnectorConfig(name="cercarbono", base_url=ECO))
    resumed = issuances.first_request({"step": "projects", "projects": [1, 7]})
    assert resumed is not None and resumed.url == ECO + "/platform/analytics/projects"
    again = issuances.first_request({"step": "projects", "projects": [1], "_complete": True})
    assert again is not None and again.url.endswith("/public-by-standard/cercarbono-co2")


def test_cercarbono_options_are_checked() -> None:
    with pytest.raises(FatalSourceError, match=r"connectors\.cercarbono\.standard"):
        cercarbono.options(ConnectorConfig(name="cercarbono", options={"standard": "Not A Slug"}))
    with pytest.raises(FatalSourceError, match=r"connectors\.regen\.limit"):
        regen.options(ConnectorConfig(name="regen", options={"limit": 1000}))


# --- Regen Ledger (ecocredit REST) -------------------------------------------------------

LEDGER = "https://regen-lcd.test"


def batch_info(row: dict[str, str]) -> dict[str, Any]:
    denom = row["regen_batch_metadata_file"]
    start, end = denom.split("-")[2:4]
    return {
        "issuer": "regen1v2ncquer9r2ytlkxh2djmmsq3e8we6rjc9snfn",
        "project_id": "-".join(denom.split("-")[:2]),
        "denom": denom,
        # IRIs are content hashes of the metadata; these stand-ins keep one per batch.
        "metadata": f"regen:13toV{denom.replace('-', '')}.rdf",
        "start_date": f"{start[:4]}-{start[4:6]}-{start[6:]}T00:00:00Z",
        "end_date": f"{end[:4]}-{end[4:6]}-{end[6:]}T00:00:00Z",
        "issuance_date": "2022-05-06T04:26:37Z",
        "open": False,
    }


class Ledger:
    """``/batches`` with key paging, and ``/batches/{denom}/supply``."""

    def __init__(self, real_data: Path, limit: int = 5) -> None:
        self.table = rows(real_data / REGEN)
        self.batches = [batch_info(row) for row in self.table]
        self.limit = limit
        self.loop = False
        self.supply_calls = 0

    def key(self, offset: int) -> str:
        return base64.b64encode(f"offset-{offset}".encode()).decode()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == BATCHES_PATH:
            key = request.url.params.get("pagination.key")
            offset = 0 if key is None else int(base64.b64decode(key).decode().split("-")[1])
            limit = int(request.url.params["pagination.limit"])
            page = self.batches[offset : offset + limit]
            following = offset + limit
            next_key = self.key(following) if following < len(self.batches) else None
            if self.loop and offset > 0:
                next_key = self.key(offset)  # the same key again: a loop
            body = {"batches": page, "pagination": {"next_key": next_key, "total": "13"}}
            return httpx.Response(200, json=body)
        if path.startswith("/data/v2/metadata-graph/"):
            iri = path.rsplit("/", 1)[-1]
            row = next(
                (
                    r
                    for r in self.table
                    if batch_info(r)["metadata"] == iri
                    and "-003-" not in r["regen_batch_metadata_file"]
                ),
                None,
            )
            if row is None:
                return httpx.Response(404, json={"error": "not found"})
            document = {
                "@type": "regen:C01-CreditBatch",
                "regen:vcsProjectId": int(row["vcs_project_id"]),
                "regen:vcsRetirementSerialNumber": row["vcs_retirement_serial_number"],
            }
            return httpx.Response(200, json=document)
        if path.startswith(BATCHES_PATH + "/") and path.endswith("/supply"):
            self.supply_calls += 1
            denom = path.split("/")[-2]
            row = next(r for r in self.table if r["regen_batch_metadata_file"] == denom)
            units = int(row["quantity_derived"])
            # Batch 002 of project 934 is all retired on the ledger; the rest half tradable.
            if denom.endswith("20151231-002"):
                supply = {"tradable_amount": "0", "retired_amount": f"{units}.000000"}
            else:
                supply = {
                    "tradable_amount": str(units // 2),
                    "retired_amount": str(units - units // 2),
                }
            return httpx.Response(200, json={**supply, "cancelled_amount": "0"})
        return httpx.Response(404)


@respx.mock
def test_regen_stream_pages_by_key_and_asks_each_batch_supply(
    real_data: Path, engine: sa.Engine
) -> None:
    ledger = Ledger(real_data)
    respx.route(host="regen-lcd.test").mock(side_effect=ledger)
    report = sync(engine, regen, LEDGER, limit=5)
    assert (report.outcome, report.error, report.quarantined) == ("ok", None, 0)
    assert report.seen == 13 and ledger.supply_calls == 13
    assert report.totals["batches"]["records"] == 13
    blocks = {b.record_id: b for b in stored(engine, "regen")}
    assert sum(b.quantity for b in blocks.values()) == sum(
        int(r["quantity_derived"]) for r in ledger.table
    )
    retired = blocks["C01-001-20150101-20151231-002"]
    assert (retired.status, retired.quantity, retired.scheme) == ("retired", 3525, "regen")
    assert blocks["C01-003-20150701-20160630-001"].status == "issued"
    assert blocks["C01-003-20150701-20160630-001"].project_id == "C01-003"


@respx.mock
def test_regen_metadata_numbers_c01_batches_by_their_verra_serial(
    real_data: Path, engine: sa.Engine
) -> None:
    ledger = Ledger(real_data)
    respx.route(host="regen-lcd.test").mock(side_effect=ledger)
    resolver = LEDGER + "/data/v2/metadata-graph/{iri}"
    report = sync(engine, regen, LEDGER, limit=5, metadata_url=resolver)
    assert (report.outcome, report.error, report.quarantined) == ("ok", None, 0)
    blocks = {b.record_id: b for b in stored(engine, "regen")}
    numbered = {d: b for d, b in blocks.items() if b.scheme == "vcs"}
    # Every batch with a metadata document is numbered by its Verra serial, as the table does.
    assert len(numbered) == 12
    for row in ledger.table:
        block = blocks[row["regen_batch_metadata_file"]]
        if "-003-" in row["regen_batch_metadata_file"]:
            assert (block.scheme, block.origin) == ("regen", None)  # the resolver's 404
            continue
        assert block.origin == row["vcs_retirement_serial_number"]
        assert (block.block_start, block.block_end) == (
            int(row["block_start"]),
            int(row["block_end"]),
        )


@respx.mock
def test_regen_stream_stops_when_a_key_comes_back(real_data: Path, engine: sa.Engine) -> None:
    ledger = Ledger(real_data)
    ledger.loop = True
    respx.route(host="regen-lcd.test").mock(side_effect=ledger)
    report = sync(engine, regen, LEDGER, limit=5)
    assert report.outcome == "failed"
    assert "second time" in (report.error or "")


def test_regen_stream_resumes_at_the_batch_it_stopped_at() -> None:
    stream = RegenBatches(LEDGER)
    pending = [
        {"denom": "C01-001-20150101-20151231-004"},
        {"denom": "C01-001-20150101-20151231-005"},
    ]
    first = stream.first_request({"pending": pending, "next_key": "b2Zmc2V0LTEw"})
    assert first is not None
    assert first.url == LEDGER + BATCHES_PATH + "/C01-001-20150101-20151231-004/supply"
    done = stream.first_request({"pending": [], "next_key": "x", "_complete": True})
    assert done is not None and "pagination.key" not in done.params


@respx.mock
def test_regen_fractional_supply_is_quarantined_with_its_reason(
    real_data: Path, engine: sa.Engine
) -> None:
    ledger = Ledger(real_data)

    def fractional(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("20151231-003/supply"):
            body = {"tradable_amount": "15.5", "retired_amount": "0.5", "cancelled_amount": "0"}
            return httpx.Response(200, json=body)
        return ledger(request)

    respx.route(host="regen-lcd.test").mock(side_effect=fractional)
    report = sync(engine, regen, LEDGER)
    assert (report.seen, report.quarantined) == (13, 1)
    with engine.connect() as conn:
        (error,) = conn.execute(sa.text("SELECT error FROM quarantine")).scalars()
    assert "supply.tradable_amount" in error and "whole number" in error


# --- Stellarcarbon (sc-data NDJSON) -------------------------------------------------------

SC_DATA = "https://sc-data.test/stellarcarbon/sc-data/main"
NUMERIC = {"block_start", "block_end", "sub_account_id", "vcu_amount", "certificate_id", "toid"}


def ndjson(table: list[dict[str, str]], name: str) -> bytes:
    lines = []
    for row in table:
        values = [int(row[c]) if c in NUMERIC and row[c] else row[c] for c in COLUMNS[name]]
        lines.append(json.dumps(values))
    return ("\n".join(lines) + "\n").encode()


@respx.mock
def test_stellar_streams_read_the_sc_data_tables_like_the_files(
    real_data: Path, engine: sa.Engine, db_url: str
) -> None:
    bodies = {name: ndjson(rows(real_data / STELLAR / f"{name}.csv"), name) for name in COLUMNS}
    calls: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        name = request.url.path.rsplit("/", 1)[-1].removesuffix(".ndjson")
        etag = f'"{name}-v1"'
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=bodies[name], headers={"ETag": etag})

    respx.route(host="sc-data.test").mock(side_effect=server)
    report = sync(engine, stellar, SC_DATA)
    assert (report.outcome, report.error, report.quarantined) == ("ok", None, 0)
    assert (report.seen, report.written) == (9 + 17, 9 + 17)
    from_api = hashes(engine)
    # The same tables imported as files give the same records: nothing new is written.
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    for name in COLUMNS:
        path = str(real_data / STELLAR / f"{name}.csv")
        result = CliRunner().invoke(main, ["import", "stellar", path, "--no-detect"], env=env)
        assert ", 0 written" in result.output, result.output
    assert hashes(engine) == from_api
    again = sync(engine, stellar, SC_DATA)
    assert (again.outcome, again.not_modified, again.written) == ("ok", 2, 0)
    assert calls[-1].headers["If-None-Match"] == '"retirements-v1"'


@respx.mock
def test_stellar_line_of_the_wrong_width_fails_the_source(engine: sa.Engine) -> None:
    respx.route(host="sc-data.test").mock(
        return_value=httpx.Response(200, content=b'["only", "two"]\n')
    )
    report = sync(engine, stellar, SC_DATA)
    assert report.outcome == "failed" and "expected an array of 12 values" in (report.error or "")


def test_a_regen_batch_metadata_file_gives_the_block_of_its_table_row(
    real_data: Path, tmp_path: Path
) -> None:
    # The JSON-LD shape of regen-registry-standards/ops/C01/credit-batch-metadata/*.jsonld.
    row = rows(real_data / REGEN)[7]
    document = {
        "@type": "regen:C01-CreditBatch",
        "@context": {"regen": "https://schema.regen.network#", "schema": "http://schema.org/"},
        "regen:vcsProjectId": int(row["vcs_project_id"]),
        "regen:additionalCertifications": [
            {"schema:name": name.strip()} for name in row["additional_certifications"].split(";")
        ],
        "regen:vcsRetirementSerialNumber": row["vcs_retirement_serial_number"],
    }
    path = tmp_path / f"{row['regen_batch_metadata_file']}.jsonld"
    path.write_text(json.dumps(document), encoding="utf-8")
    (record,) = regen.read_file(path)
    from_metadata = regen.normalize(record)
    (table_row,) = [
        r
        for r in regen.read_file(real_data / REGEN)
        if r.payload["regen_batch_metadata_file"] == row["regen_batch_metadata_file"]
    ]
    assert from_metadata == regen.normalize(table_row)
    assert from_metadata.record_id == "C01-002-20190101-20191231-002"
    other = tmp_path / "class.jsonld"
    other.write_text(json.dumps({"@type": "regen:C01-CreditClass"}), encoding="utf-8")
    with pytest.raises(FatalSourceError, match="not a C01 credit batch"):
        list(regen.read_file(other))
