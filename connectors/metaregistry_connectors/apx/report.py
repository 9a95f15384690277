"""A registry's public report as a snapshot: the CSV (or XLSX) the registry's site serves for
download, fetched from a configured address and read exactly as the file importer reads the
same download (so both paths hash the same).

Two shapes are read (see each connector's README: confirmed and assumed):

* **The APX report page** (``GET /myModule/rpt/myrpt.asp?r=<id>``, the live shape of the
  Climate Action Reserve and ART TREES sites): an HTML page that renders the report 50 rows at
  a time, prints its total (``1 - 50 : 5170``) and carries the export form ``frmDownload``
  (action ``/myModule/include/rptdownload.asp``). The whole report is that form POSTed back
  with ``FormatType=csv``, in the session the GET opened (its cookie is kept by the HTTP
  client) and with the page's CSRF token ``c16e`` when the page has one (read from the form,
  or from the script that injects it). The printed total is the stream's ``totals``, so a
  download that lost rows is drift, not a whole snapshot. A POST the site refuses (a stale
  token) answers its HTML home page with HTTP 200: refused, never read as an empty report.
* **A plain download** (a CSV or XLSX at the address, e.g. a mirror of the export): read as is;
  its ``ETag``, when the server sends one, is kept in the cursor and sent back as
  ``If-None-Match`` (304: nothing changed).

APX sends Windows-1252 and declares no charset: a body that is not UTF-8 and states no
charset is read as Windows-1252 (a declared charset first, strict UTF-8 next), so accented
names arrive as the registry wrote them. An HTML page without the export form (a login or
error page) is refused as a fatal error; 429 and 5xx are retried.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

import httpx

from metaregistry.connector import (
    FatalSourceError,
    HttpStream,
    Page,
    RawRecord,
    RequestSpec,
    RetriableSourceError,
)
from metaregistry_connectors.verra.tabular import FileKind, read_table

__all__ = ["MAX_REPORT_BYTES", "ReportStream"]

#: A report larger than this is refused (a public report of a registry is a few MB).
MAX_REPORT_BYTES: Final = 200 << 20
_XLSX_MAGIC: Final = b"PK\x03\x04"
#: The form that exports an APX report whole, and its CSV format.
EXPORT_FORM: Final = "frmDownload"
#: APX's printed range and total above the pager: ``1 - 50 : 5170``.
_PRINTED_TOTAL: Final = re.compile(r">\s*\d[\d,]*\s*-\s*\d[\d,]*\s*:\s*(\d[\d,]*)\s*<")
#: The CSRF token APX's script injects into its forms (``setAttribute('value', '...')``).
_SCRIPT_TOKEN: Final = re.compile(
    r"setAttribute\(\s*['\"]name['\"]\s*,\s*['\"]c16e['\"]\s*\)\s*;\s*\w+\s*\.\s*"
    r"setAttribute\(\s*['\"]value['\"]\s*,\s*['\"]([^'\"]+)['\"]"
)
_CHARSET: Final = re.compile(r"charset=[\"']?([\w-]+)", re.IGNORECASE)


class _Forms(HTMLParser):
    """Every form of a page: its name (or id), action and the inputs it submits."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, tuple[str, dict[str, str]]] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "form":
            name = values.get("name") or values.get("id") or f"form {len(self.forms) + 1}"
            self._current = name
            self.forms[name] = (values.get("action", ""), {})
        elif tag in ("input", "textarea") and self._current is not None:
            field = values.get("name")  # the name is what is submitted, never the id
            if field:
                self.forms[self._current][1][field] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def page_text(body: bytes, content_type: str) -> str:
    """``body`` as text: the declared charset, else strict UTF-8, else Windows-1252 (APX
    declares none and sends Windows-1252)."""
    declared = _CHARSET.search(content_type or "")
    if declared is not None:
        try:
            return body.decode(declared.group(1))
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


class ReportStream(HttpStream):
    """One public report of one kind (``issuances``, ``retirements``, ``cancellations``,
    or a registry's own), downloaded whole."""

    mode: ClassVar[Literal["snapshot", "incremental"]] = "snapshot"
    sorted_by_cursor: ClassVar[bool] = False

    def __init__(
        self,
        kind: FileKind,
        url: str,
        source: str,
        headers: Mapping[str, str] | None = None,
        rows: Callable[[Iterable[RawRecord]], Iterable[RawRecord]] | None = None,
    ) -> None:
        self.name = kind.name  # type: ignore[misc]
        self.kind = kind
        self.url = url
        self.source = source
        self.headers = dict(headers or {})
        self.rows = rows
        #: the total the report page printed, for the export that follows it
        self.printed_total: int | None = None

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        self.printed_total = None
        headers = dict(self.headers)
        etag = (cursor or {}).get("etag")
        if isinstance(etag, str) and etag:
            headers["If-None-Match"] = etag
        return RequestSpec(method="GET", url=self.url, headers=headers, token=self.kind.name)

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        where = f"{self.source} {self.kind.name} report"
        etag = response.headers.get("ETag", "")
        if response.status_code == 304:
            return Page(records=[], cursor={"etag": etag}, next_request=None, not_modified=True)
        if response.status_code == 429 or response.status_code >= 500:
            raise RetriableSourceError(f"{where}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise FatalSourceError(f"{where}: HTTP {response.status_code} from {self.url}")
        body = response.content
        if len(body) > MAX_REPORT_BYTES:
            raise FatalSourceError(
                f"{where}: {len(body):,} bytes, more than the {MAX_REPORT_BYTES:,} a report may be"
            )
        head = body[:512].lstrip().lower()
        if head.startswith(b"<"):  # markup (no CSV header row starts with '<')
            return self._report_page(response, request, where)
        suffix = ".xlsx" if body.startswith(_XLSX_MAGIC) else ".csv"
        if suffix == ".csv":  # the file importer reads UTF-8; APX sends Windows-1252
            body = page_text(body, response.headers.get("Content-Type", "")).encode("utf-8")
        with tempfile.TemporaryDirectory(prefix="metaregistry-report-") as folder:
            path = Path(folder) / f"{self.kind.name}{suffix}"
            path.write_bytes(body)
            read: Iterable[RawRecord] = read_table(path, [self.kind], self.source)
            if self.rows is not None:  # the same row treatment as the file importer's
                read = self.rows(read)
            records = [
                RawRecord(r.payload, r.ref.replace(path.name, self.url, 1), r.stream) for r in read
            ]
        totals = None if self.printed_total is None else {"records": self.printed_total}
        return Page(
            records=records,
            cursor={"etag": etag} if etag else {},
            next_request=None,
            totals=totals,
        )

    def _report_page(self, response: httpx.Response, request: RequestSpec, where: str) -> Page:
        """The APX report page: its export form, submitted next; anything else is refused."""
        text = page_text(response.content, response.headers.get("Content-Type", ""))
        if request.method != "GET":
            raise FatalSourceError(
                f"{where}: the export at {request.url} answered an HTML page, not the report "
                "(the site refused the session or its CSRF token; the next run starts a new one)"
            )
        forms = _Forms()
        forms.feed(text)
        form = forms.forms.get(EXPORT_FORM)
        if form is None:
            raise FatalSourceError(
                f"{where}: {self.url} answered an HTML page, not a report (a login or error "
                f"page, no {EXPORT_FORM} form; check the address)"
            )
        action, fields = form
        fields = dict(fields)
        fields["FormatType"] = "csv"
        if not fields.get("c16e"):  # sent when the page has one (not every APX build does)
            token = next((f[1]["c16e"] for f in forms.forms.values() if f[1].get("c16e")), None)
            found = _SCRIPT_TOKEN.search(text)
            token = token or (found.group(1) if found else None)
            if token:
                fields["c16e"] = token
        printed = _PRINTED_TOTAL.search(text)
        self.printed_total = int(printed.group(1).replace(",", "")) if printed else None
        url = response.url.join(action or "/myModule/include/rptdownload.asp")
        if (url.scheme, url.host, url.port) != (
            response.url.scheme,
            response.url.host,
            response.url.port,
        ):
            raise FatalSourceError(
                f"{where}: the export form of {self.url} posts to another site ({url}); "
                "refused (the export is the report site's own)"
            )
        target = str(url)
        export = RequestSpec(
            method="POST",
            url=target,
            headers=self.headers,
            data=fields,
            token=f"{self.kind.name}:export",
        )
        return Page(records=[], cursor={}, next_request=export)
