"""The report streams of ``acr``, ``car``, ``art-trees`` and ``carb`` against respx-mocked
registry sites serving the real report files (CSV, and CARB's table as XLSX): the same records
as the file importer (same hashes), ETags honoured, 5xx retried, an HTML page refused."""

from __future__ import annotations

import asyncio
import csv
import io
import re
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


#: The Reserve's report ids (its "Public Reports" menu): issuances, retirements, cancellations.
CAR_REPORTS = {"112": "issuances", "206": "retirements", "308": "cancellations"}


class ApxSite:
    """The APX report pages as the Climate Action Reserve serves them: ``GET myrpt.asp?r=N``
    renders the report's first 50 rows with its printed total, opens an ASP session (cookie)
    and carries the export form ``frmDownload``; POSTing that form back in the same session
    with the session's CSRF token ``c16e`` answers the whole report as CSV, in Windows-1252
    with no charset declared. A POST without the session's token answers the home page, 200.
    """

    def __init__(self, folder: Path, *, printed_extra: int = 0, token_in_script: bool = False):
        self.folder = folder
        self.printed_extra = printed_extra
        self.token_in_script = token_in_script
        self.sessions: dict[str, str] = {}  # session cookie -> the report its page rendered
        self.exports: list[str] = []

    def rows(self, kind: str) -> int:
        text = (self.folder / f"{kind}.csv").read_text("utf-8-sig")
        return len(list(csv.DictReader(io.StringIO(text))))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/myModule/rpt/myrpt.asp":
            kind = CAR_REPORTS[request.url.params["r"]]
            session = f"s{len(self.sessions) + 1}"
            self.sessions[session] = kind
            token = f"tok-{session}"
            total = self.rows(kind) + self.printed_extra
            form_token = (
                "" if self.token_in_script else f'<input type="hidden" name="c16e" value="{token}">'
            )
            page = f"""<html><head><title>Climate Action Reserve</title>
<SCRIPT>function addhiddenCsrfInputToQTable() {{ setTimeout(function () {{
  const hiddenInput = document.createElement('input');
  hiddenInput.setAttribute('name', "c16e");
  hiddenInput.setAttribute('value', '{token}');
}}, 1000); }}</SCRIPT></head><body>
<form name="xxxx2" method="post" action="/myModule/rpt/myrpt.asp">
<input type="hidden" name="r" value="{request.url.params["r"]}"></form>
<form name="frmDownload" id="frmDownload" method="post" action="/myModule/include/rptdownload.asp">
{form_token}<input type="hidden" name="Data" value="Stamp_0">
<input type="hidden" name="Title" value="Report {kind}">
<input type="hidden" name="SortORder" id="SortOrder" value="">
<input type="hidden" name="FormatType" value=""></form>
<table><tr><td align="center">1 - 50 : {total:,}</td></tr></table>
<p>Reserve\x92s public reports, M\xc9XICO</p></body></html>"""
            return httpx.Response(
                200,
                content=page.encode("latin-1"),
                headers={
                    "Content-Type": "text/html",
                    "Set-Cookie": f"ASPSESSIONIDCQ={session}; path=/",
                },
            )
        if request.method == "POST" and request.url.path == "/myModule/include/rptdownload.asp":
            form = dict(httpx.QueryParams(request.content.decode()))
            session = (
                request.headers.get("cookie", "").partition("ASPSESSIONIDCQ=")[2][:8].split(";")[0]
            )
            kind = self.sessions.get(session)
            if (
                kind is None
                or form.get("c16e") != f"tok-{session}"
                or form.get("Data") != "Stamp_0"
            ):
                home = b"<html><body>Message Type Message Receive Date No Records!</body></html>"
                return httpx.Response(200, content=home, headers={"Content-Type": "text/html"})
            assert form["FormatType"] == "csv"
            self.exports.append(kind)
            text = (self.folder / f"{kind}.csv").read_text("utf-8-sig")
            # the live export's trailing column has no name (OffsetsDB's copy: 'Unnamed: N')
            header, _, rest = text.partition("\n")
            header = re.sub(r",Unnamed: \d+\s*$", ",", header)
            body = f"{header}\n{rest}".encode("cp1252")
            return httpx.Response(
                200,
                content=body,
                headers={
                    "Content-Type": "application/save",
                    "Content-Disposition": "attachment; filename=temp.csv;",
                },
            )
        return httpx.Response(404)


@pytest.mark.parametrize("token_in_script", [False, True], ids=["token-in-form", "token-in-script"])
@respx.mock
def test_car_reads_the_live_apx_report_pages(
    real_data: Path, engine: sa.Engine, db_url: str, token_in_script: bool
) -> None:
    folder = real_data / OFFSETSDB / FOLDERS[car]
    site = ApxSite(folder, token_in_script=token_in_script)
    respx.route(host="thereserve2.apx.test").mock(side_effect=site)
    # the default report paths (r=112, 206, 308) under the configured host
    report = sync(engine, car, "https://thereserve2.apx.test")
    assert (report.outcome, report.error, report.quarantined, report.drift) == ("ok", None, 0, [])
    assert site.exports == ["issuances", "retirements", "cancellations"]
    expected = sum(site.rows(k) for k in ("issuances", "retirements", "cancellations"))
    assert report.seen == report.written == expected == 250
    assert report.totals == {k: {"records": site.rows(k)} for k in CAR_REPORTS.values()}
    from_site = hashes(engine)
    env = {"METAREGISTRY_DATABASE_URL": db_url}
    for kind in ("issuances", "retirements", "cancellations"):
        path = str(folder / f"{kind}.csv")
        result = CliRunner().invoke(main, ["import", "car", path, "--no-detect"], env=env)
        assert ", 0 written" in result.output, result.output  # Windows-1252 read as written
    assert hashes(engine) == from_site


@respx.mock
def test_an_export_short_of_the_printed_total_is_drift_not_a_whole_snapshot(
    real_data: Path, engine: sa.Engine
) -> None:
    site = ApxSite(real_data / OFFSETSDB / FOLDERS[car], printed_extra=1)
    respx.route(host="thereserve2.apx.test").mock(side_effect=site)
    report = sync(engine, car, "https://thereserve2.apx.test")
    assert report.outcome == "ok"
    assert len(report.drift) == 3, report.drift
    assert "issuances: source reports 101 records, sync saw 100 distinct" in report.drift
    assert report.withdrawn == 0


@respx.mock
def test_an_export_the_site_refuses_fails_the_source(real_data: Path, engine: sa.Engine) -> None:
    site = ApxSite(real_data / OFFSETSDB / FOLDERS[car])
    site.sessions = {}

    def forget_sessions(request: httpx.Request) -> httpx.Response:
        response = site(request)
        site.sessions.clear()  # a session that expired between the page and its export
        return response

    respx.route(host="thereserve2.apx.test").mock(side_effect=forget_sessions)
    report = sync(engine, car, "https://thereserve2.apx.test")
    assert report.outcome == "failed"
    assert "refused the session or its CSRF token" in (report.error or "")
    assert report.written == 0


@respx.mock
def test_carb_finds_its_table_on_the_workbooks_fourth_sheet(
    real_data: Path, engine: sa.Engine
) -> None:
    """CARB's workbook keeps the table on its sheet "ARB Offset Credit Issuance", the fourth
    (OffsetsDB reads ``sheet_name=3``), under title lines; the sheets before it are notes."""
    source = real_data / OFFSETSDB / "arb" / "nc-arboc_issuance_sheet3.csv"
    book = openpyxl.Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Read Me"
    cover.append(["ARB Offset Credit Issuance Table", None, "Updated November 27, 2024"])
    for title in ("Summary", "Retired by Compliance Period"):
        book.create_sheet(title).append(["a note", 12, "not the table"])
    sheet = book.create_sheet("ARB Offset Credit Issuance")
    sheet.append(["ARB Offset Credit Issuance Table"])
    sheet.append([])
    for row in csv.reader(io.StringIO(source.read_text(encoding="utf-8-sig"))):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    respx.get("https://ww2.arb.test/arboc_issuance.xlsx").mock(
        return_value=httpx.Response(200, content=buffer.getvalue())
    )
    report = sync(engine, carb, "https://ww2.arb.test", issuance_path="/arboc_issuance.xlsx")
    assert (report.outcome, report.error, report.seen, report.written, report.quarantined) == (
        "ok",
        None,
        100,
        98,
        2,
    )


@respx.mock
def test_an_export_form_posting_to_another_site_is_refused(engine: sa.Engine) -> None:
    page = (
        b'<html><body><form name="frmDownload" method="post" '
        b'action="https://elsewhere.test/collect"><input type="hidden" name="Data" '
        b'value="Stamp_0"></form><td align="center">1 - 50 : 70</td></body></html>'
    )
    respx.route(host="thereserve2.apx.test").mock(return_value=httpx.Response(200, content=page))
    elsewhere = respx.route(host="elsewhere.test").mock(return_value=httpx.Response(200))
    report = sync(engine, car, "https://thereserve2.apx.test")
    assert report.outcome == "failed"
    assert "posts to another site" in (report.error or "")
    assert not elsewhere.called
