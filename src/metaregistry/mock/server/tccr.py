"""The TCCR mock (Thailand, TGO): a CSV export with ETag and a JSON API.

As connectors/metaregistry_connectors/tccr/README.md documents:

* ``GET /export/tver-credits.csv``: UTF-8 BOM, header in the README's field order, RFC 4180
  rows (CRLF), empty cell for null; ``ETag`` and ``X-Record-Count``; ``If-None-Match`` with
  the current ETag gets ``304``. Streamed from the world file, never held whole.
* ``GET /api/v2/credits?offset=K&limit=M``: Django REST framework style
  (``count``/``next``/``previous``/``results``), ``limit`` capped at 1000.

A repeated export carries a run of rows twice (counted in ``X-Record-Count``, under an ETag
of its own); on the API only the last page repeats (it brings the page before it again).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from metaregistry.mock.server.app import MockRegistry, Route, int_param
from metaregistry.mock.server.authorizations import authorization_dataset
from metaregistry.mock.server.dataset import Dataset, RecordFormat
from metaregistry.mock.server.faults import Fault, FaultSpec, unit_interval
from metaregistry.mock.server.records import csv_row, csv_rows
from metaregistry.mock.server.reply import Reply, json_reply

__all__ = ["FIELDS", "TccrMock"]

WORLD_FILE = "tccr/tver-credits.ndjson"
EXPORT_PATH = "/export/tver-credits.csv"
API_PATH = "/api/v2/credits"
LOA_FILE = "tccr/authorizations.ndjson"
LOA_PATH = "/api/v2/authorizations"
DEFAULT_PAGE = 100
MAX_PAGE = 1000
#: CSV columns, in the order of the README's record table.
FIELDS = (
    "credit_id",
    "serial_no",
    "credit_type",
    "project_code",
    "project_name_en",
    "province",
    "vintage_be",
    "volume_tco2e",
    "credit_status",
    "issue_date_be",
    "status_date_be",
    "status_remark",
    "a6_authorization_no",
    "a6_authorized_use",
    "a6_itmo_id",
    "a6_first_transfer_date",
    "a6_acquiring_party",
    "a6_ca_status",
)
FORMAT = RecordFormat(id_field="credit_id", serial_field="serial_no", quantity_field="volume_tco2e")
_BLOCK = 1000
_REPEAT_RUN = 50


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class TccrMock(MockRegistry):
    name = "tccr"

    def __init__(self, world: Path, spec: FaultSpec, token: str | None) -> None:
        super().__init__(world, spec, token)
        path = world / WORLD_FILE
        self.credits = Dataset(self.name, WORLD_FILE, path, FORMAT, spec)
        stat = path.stat()
        # Like a web server's ETag: the file's identity, plus what changes the served bytes.
        self.etag = (
            f'"{stat.st_size:x}-{stat.st_mtime_ns:x}-{spec.seed:x}-{spec.malformed!r}"'.replace(
                ".", "_"
            )
        )
        self.size = stat.st_size
        self.loas = authorization_dataset(
            self.name, world, LOA_FILE, "loa_no", "authorized_volume_tco2e", spec
        )

    def datasets(self) -> Sequence[Dataset]:
        return (self.credits,)

    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", EXPORT_PATH, self.export),
            Route("GET", API_PATH, self.api_page),
            Route("GET", LOA_PATH, self.authorizations_page),
        )

    def _rows(self, start: int, stop: int) -> bytes:
        return csv_rows(
            [_cell(record.get(name)) for name in FIELDS]
            for record in self.credits.records(start, stop)
        )

    def _export_body(self, repeat: tuple[int, int] | None) -> Iterator[bytes]:
        yield codecs.BOM_UTF8 + csv_row(FIELDS)
        total = len(self.credits)
        for start in range(0, total, _BLOCK):
            stop = min(start + _BLOCK, total)
            yield self._rows(start, stop)
            if repeat is not None and start <= repeat[1] - 1 < stop:
                yield self._rows(*repeat)

    async def export(self, request: web.Request, fault: Fault | None) -> Reply:
        total = len(self.credits)
        repeat: tuple[int, int] | None = None
        etag = self.etag
        if fault is Fault.REPEAT and total > 0:
            first = int(unit_interval(self.spec.seed, "export-repeat", self.etag) * total)
            repeat = (first, min(total, first + _REPEAT_RUN))
            etag = f'{self.etag[:-1]}-r{first}"'
        if request.headers.get("If-None-Match") == etag:
            return Reply(body=b"", status=304, headers={"ETag": etag})
        count = total + (repeat[1] - repeat[0] if repeat else 0)
        return Reply(
            body=self._export_body(repeat),
            content_type="text/csv",
            headers={"ETag": etag, "X-Record-Count": str(count)},
            size_hint=self.size,
        )

    async def api_page(self, request: web.Request, fault: Fault | None) -> Reply:
        return self._drf_page(request, fault, self.credits, API_PATH)

    async def authorizations_page(self, request: web.Request, fault: Fault | None) -> Reply:
        """Letters of authorization (issue 19), paged like the credits."""
        if self.loas is None:
            return json_reply({"count": 0, "next": None, "previous": None, "results": []})
        return self._drf_page(request, fault, self.loas, LOA_PATH)

    def _drf_page(
        self, request: web.Request, fault: Fault | None, records: Dataset, path: str
    ) -> Reply:
        offset = int_param(request, "offset", 0)
        limit = min(int_param(request, "limit", DEFAULT_PAGE, minimum=1), MAX_PAGE)
        total = len(records)

        def link(at: int) -> str:
            return f"{path}?{urlencode({'offset': at, 'limit': limit})}"

        # The connector moves on by the rows it received, so a page repeated anywhere but at
        # the end would make it skip as many rows: only the last page brings the one before
        # it again.
        last = offset + limit >= total
        results = records.page(offset, limit, repeat=fault is Fault.REPEAT and last)
        end = min(total, offset + limit)
        return json_reply(
            {
                "count": total,
                "next": link(end) if end < total else None,
                "previous": link(max(0, offset - limit)) if offset > 0 else None,
                "results": results,
            }
        )
