"""The Verra mock: the registry's search API,
``POST /uiapi/asset/asset/search?$skip=S&$top=N&$count=true``.

The shape is the one the verra connector reads (connectors/metaregistry_connectors/verra/
search.py): a JSON filter body (accepted, not applied: every record of the world matches the
connector's default filter), offset paging with ``$top`` silently capped at 2,000, and
``{"totalCount": T, "value": [record, ...]}``. The search API is public: no token.

The connector moves on by the rows it received, so a repeated page anywhere but at the end
would make it skip as many rows; a repeat fault only makes the last page bring the page
before it again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from metaregistry.mock.server.app import MockRegistry, Route, int_param
from metaregistry.mock.server.dataset import Dataset, RecordFormat
from metaregistry.mock.server.faults import Fault, FaultSpec
from metaregistry.mock.server.reply import Reply, json_reply

__all__ = ["VerraMock"]

WORLD_FILE = "verra/vcus.ndjson"
SEARCH_PATH = "/uiapi/asset/asset/search"
MAX_PAGE = 2000
FORMAT = RecordFormat(
    id_field="serialNumbers", serial_field="serialNumbers", quantity_field="quantity"
)


class VerraMock(MockRegistry):
    name = "verra"

    def __init__(self, world: Path, spec: FaultSpec, token: str | None) -> None:
        # The search API is public: a token given on the command line is not asked for.
        super().__init__(world, spec, None)
        self.blocks = Dataset(self.name, WORLD_FILE, world / WORLD_FILE, FORMAT, spec)

    def datasets(self) -> Sequence[Dataset]:
        return (self.blocks,)

    def routes(self) -> Sequence[Route]:
        return (Route("POST", SEARCH_PATH, self.search),)

    async def search(self, request: web.Request, fault: Fault | None) -> Reply:
        body = await request.read()
        if body.strip():
            try:
                json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return self.bad_request("the search filter body is not JSON")
        skip = int_param(request, "$skip", 0)
        top = min(int_param(request, "$top", MAX_PAGE, minimum=1), MAX_PAGE)
        total = len(self.blocks)
        last = skip + top >= total
        rows = self.blocks.page(skip, top, repeat=fault is Fault.REPEAT and last)
        return json_reply({"totalCount": total, "value": rows})
