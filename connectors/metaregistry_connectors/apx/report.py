"""A registry's public report as one snapshot page: the CSV (or XLSX) the registry's site
serves for download, fetched from a configured address and read exactly as the file importer
reads the same download (so both paths hash the same).

What this follows (see each connector's README: confirmed and assumed): APX public reports are
served whole, one file per report, with no paging; a report that cannot be produced answers
5xx or an HTML error page. An HTML page where a report was expected is refused as a fatal
error (it would otherwise read as a file of no known kind); 429 and 5xx are retried. The
``ETag``, when the server sends one, is kept in the cursor and sent back as
``If-None-Match`` (304: nothing changed).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping
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

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
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
        if head.startswith((b"<!doctype html", b"<html")):
            raise FatalSourceError(
                f"{where}: {self.url} answered an HTML page, not a report (a login or error "
                "page; check the address)"
            )
        suffix = ".xlsx" if body.startswith(_XLSX_MAGIC) else ".csv"
        with tempfile.TemporaryDirectory(prefix="metaregistry-report-") as folder:
            path = Path(folder) / f"{self.kind.name}{suffix}"
            path.write_bytes(body)
            read: Iterable[RawRecord] = read_table(path, [self.kind], self.source)
            if self.rows is not None:  # the same row treatment as the file importer's
                read = self.rows(read)
            records = [
                RawRecord(r.payload, r.ref.replace(path.name, self.url, 1), r.stream) for r in read
            ]
        return Page(records=records, cursor={"etag": etag} if etag else {}, next_request=None)
