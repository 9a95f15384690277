"""The Gold Standard mock: the public API's ``GET /credits?page=N&size=M``.

The shape is the one the gold-standard connector reads (connectors/metaregistry_connectors/
gold_standard/credits.py) and DOMAIN.md describes:

* issued blocks by default, retired and cancelled ones with ``issuances=false``;
* ``page`` from 1, ``size`` default 25; a larger size gets 403 (the real API refuses it with
  a page that looks like a block); a page past the end is ``[]``;
* newest first, by descending ``id``; the body is a JSON list;
* ``X-Total-Count`` (records of the list) and ``X-Total-Number-Of-Credits`` (their units);
* a browser-like ``User-Agent`` is required: anything else gets Cloudflare's 403 page.

The API is public: no token. A repeat fault serves the page before again in front of the page
(the connector pages by number, so nothing is skipped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from metaregistry.mock.server.app import MockRegistry, Route, int_param
from metaregistry.mock.server.dataset import Dataset, RecordFormat
from metaregistry.mock.server.faults import Fault, FaultSpec
from metaregistry.mock.server.records import MockDataError
from metaregistry.mock.server.reply import Reply, json_reply

__all__ = ["GoldStandardMock"]

WORLD_FILE = "gold-standard/credits.ndjson"
MAX_SIZE = 25
ISSUED = frozenset({"ISSUED"})
RETIRED = frozenset({"RETIRED", "CANCELLED"})
FORMAT = RecordFormat(
    id_field="id", serial_field="serial_number", quantity_field="number_of_credits"
)
_BLOCKED = (
    b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>"
    b"<body><h1>Sorry, you have been blocked</h1></body></html>"
)


class _ListIndex:
    """Keeps the lines of a status list while indexing; checks ids ascend (the mock serves
    them newest first by reading the file backwards) and sums the units."""

    def __init__(self, path: Path, statuses: frozenset[str]) -> None:
        self.path = path
        self.statuses = statuses
        self.units = 0
        self.last_id = -1

    def __call__(self, line: bytes) -> bool:
        status, ident, quantity = _facts(line)
        if status not in self.statuses:
            return False
        if not isinstance(ident, int) or ident <= self.last_id:
            raise MockDataError(
                f"{self.path}: ids must be integers in ascending order, got {ident!r} "
                f"after {self.last_id}"
            )
        self.last_id = ident
        self.units += quantity if isinstance(quantity, int) else 0
        return True


# Top-level fields of a credit line, read without parsing the whole record (a world of ten
# million records is indexed at start). "id" in quotes never matches "sustaincert_id".
_STATUS = re.compile(rb'"status"\s*:\s*"([A-Z_]+)"')
_ID = re.compile(rb'"id"\s*:\s*(\d+)\s*[,}]')
_CREDITS = re.compile(rb'"number_of_credits"\s*:\s*(\d+)\s*[,}]')


def _facts(line: bytes) -> tuple[Any, Any, Any]:
    """(status, id, number_of_credits) of a line; parsed as JSON when the quick read fails."""
    status, ident, credits = _STATUS.search(line), _ID.search(line), _CREDITS.search(line)
    if status and ident and credits and line.count(b'"status"') == 1:
        return status.group(1).decode(), int(ident.group(1)), int(credits.group(1))
    record = json.loads(line)
    return record.get("status"), record.get("id"), record.get("number_of_credits")


class GoldStandardMock(MockRegistry):
    name = "gold-standard"

    def __init__(self, world: Path, spec: FaultSpec, token: str | None) -> None:
        # The public API has no token: one given on the command line is not asked for.
        super().__init__(world, spec, None)
        path = world / WORLD_FILE
        self.lists: dict[str, tuple[Dataset, int]] = {}
        for label, statuses in (("issued", ISSUED), ("retired", RETIRED)):
            index = _ListIndex(path, statuses)
            dataset = Dataset(
                self.name,
                WORLD_FILE,
                path,
                FORMAT,
                spec,
                keep=index,
                reverse=True,
                label=f"{WORLD_FILE}:{label}",
            )
            self.lists[label] = (dataset, index.units)

    def datasets(self) -> Sequence[Dataset]:
        return tuple(dataset for dataset, _ in self.lists.values())

    def routes(self) -> Sequence[Route]:
        return (Route("GET", "/credits", self.credits),)

    def authorized(self, request: web.Request) -> bool:
        return "Mozilla/" in request.headers.get("User-Agent", "")

    def unauthorized(self) -> Reply:
        return Reply(body=_BLOCKED, status=403, content_type="text/html")

    async def credits(self, request: web.Request, fault: Fault | None) -> Reply:
        page = int_param(request, "page", 1, minimum=1)
        size = int_param(request, "size", MAX_SIZE, minimum=1)
        if size > MAX_SIZE:
            return Reply(body=_BLOCKED, status=403, content_type="text/html")
        issuances = request.query.get("issuances", "true").lower() != "false"
        dataset, units = self.lists["issued" if issuances else "retired"]
        rows = dataset.page((page - 1) * size, size, repeat=fault is Fault.REPEAT)
        headers = {"X-Total-Count": str(len(dataset)), "X-Total-Number-Of-Credits": str(units)}
        return json_reply(rows, headers=headers)
