"""The report streams of ``acr``, ``car``, ``art-trees`` and ``carb`` against respx-mocked
registry sites serving the real report files (CSV, and CARB's table as XLSX): the same records
as the file importer (same hashes), ETags honoured, 5xx retried, an HTML page refused."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import respx
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry.cli import main
from metaregistry.connector import Connector, ConnectorConfig
from metaregistry.index import store
from metaregistry.retry import RetryPolicy
from metaregistry.sync import SourceReport, sync_connector
from metaregistry_connectors.acr import connector as acr
from metaregistry_connectors.art_trees import connector as art_trees
from metaregistry_connectors.car import connector as car
from metaregistry_connectors.carb import connector as carb

pytestmark = pytest.mark.realdata

POLICY = RetryPolicy(base=0.001, cap=0.01)
OFFSETSDB = "carbonplan-offsetsdb"
FOLDERS = {acr: "american-carbon-registry", car: "climate-action-reserve", art_trees: "art-trees"}


def sync(engine: sa.Engine, connector: Connector, base: str, **options: Any) -> SourceReport:
    config = ConnectorConfig(name=connector.name, base_url=base, options=options)
    return asyncio.run(sync_connector(engine, connector, config, policy=POLICY))


def hashes(engine: sa.Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {b.record_id: b.record_hash for b in store.blocks(conn)}


@pytest.mark.parametrize("connector", [acr, car, art_trees], ids=lambda c: c.name)
@respx.mock
def test_the_three_reports_read_like_the_files(
    connector: Connector, real_data: Path, engine: sa.Engine, db_url: str
) -> None:
    folder = real_data / OFFSETSDB / FOLDERS[connector]
    paths = {
        "issuances_path": "/rpt/issuances.csv",
        "retirements_path": "/rpt/retirements.csv",
        "cancellations_path": "/rpt/cancellations.csv",
    }
    failures = {"n": 1}

    def server(request: httpx.Request) -> httpx.Response:
        if failures["n"]:
            failures["n"] -= 1
            return httpx.Response(503)  # the report is being generated: retried
        name = request.url.path.rsplit("/", 1)[-1].removesuffix(".csv")
        etag = f'"{name}-1"'
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        body = (folder / f"{name}.csv").read_bytes()
        return httpx.Response(200, content=body, headers={"ETag": etag})

    respx.route(host="registry.test").mock(side_effect=server)
    report = sync(engine, connector, "https://registry.test", **paths)
    assert (report.outcome, report.error, report.quarantined) == ("ok", None, 0)
    expected = sum(
        len(list(csv.DictReader(io.StringIO((folder / f"{k}.csv").read_text("utf-8-sig")))))
        for k in ("issuances", "retirements", "cancellations")
    )
    assert report.seen == report.written == expected
    from_api = hashes(engine)
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    for kind in ("issuances", "retirements", "cancellations"):
        path = str(folder / f"{kind}.csv")
        result = CliRunner().invoke(main, ["import", connector.name, path, "--no-detect"], env=env)
        assert ", 0 written" in result.output, result.output
    assert hashes(engine) == from_api
    again = sync(engine, connector, "https://registry.test", **paths)
    assert (again.outcome, again.not_modified, again.written) == ("ok", 3, 0)


@respx.mock
def test_carb_reads_its_table_served_as_xlsx(real_data: Path, engine: sa.Engine) -> None:
    source = real_data / OFFSETSDB / "arb" / "nc-arboc_issuance_sheet3.csv"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in csv.reader(io.StringIO(source.read_text(encoding="utf-8-sig"))):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    respx.get("https://ww2.arb.test/table.xlsx").mock(
        return_value=httpx.Response(200, content=buffer.getvalue())
    )
    report = sync(engine, carb, "https://ww2.arb.test", issuance_path="/table.xlsx")
    assert (report.outcome, report.seen, report.written, report.quarantined) == (
        "ok",
        100,
        98,
        2,
    )


@respx.mock
def test_an_html_page_instead_of_a_report_fails_the_source(engine: sa.Engine) -> None:
    respx.route(host="registry.test").mock(
        return_value=httpx.Response(200, content=b"<!DOCTYPE html><html><body>Log in</body>")
    )
    report = sync(engine, acr, "https://registry.test")
    assert report.outcome == "failed"
    assert "HTML page, not a report" in (report.error or "")
