"""The JCM mock: one server, each country's ledger under its own path.

``GET /ledgers`` and ``GET /ledgers/{ledger}/credits?limit=M&cursor=C``, as
connectors/metaregistry_connectors/jcm/README.md documents: cursor paging with opaque
cursors (URL-safe base64 of ``o:<offset>``; a repeated page's alias adds ``:r<n>``), ``limit``
capped at 1000, 404 for an unknown ledger, 400 for a cursor the server did not issue.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from metaregistry.mock.server.app import MockRegistry, ParamError, Route, int_param
from metaregistry.mock.server.authorizations import authorization_dataset
from metaregistry.mock.server.dataset import Dataset, RecordFormat
from metaregistry.mock.server.faults import Fault, FaultSpec
from metaregistry.mock.server.records import MockDataError
from metaregistry.mock.server.reply import Reply, json_reply

__all__ = ["JcmMock", "decode_cursor", "encode_cursor"]

DEFAULT_PAGE = 100
MAX_PAGE = 1000
FORMAT = RecordFormat(
    id_field="holding_id", serial_field="credit_serial", quantity_field="quantity"
)
_CURSOR = re.compile(r"^o:(\d+)(?::r(\d+))?$")


def encode_cursor(offset: int, alias: int = 0) -> str:
    text = f"o:{offset}" + (f":r{alias}" if alias else "")
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(offset, alias number) of a cursor this server issued; ParamError otherwise."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ParamError("invalid cursor") from None
    match = _CURSOR.match(text)
    if match is None:
        raise ParamError("invalid cursor")
    return int(match.group(1)), int(match.group(2) or 0)


class JcmMock(MockRegistry):
    name = "jcm"

    def __init__(self, world: Path, spec: FaultSpec, token: str | None) -> None:
        super().__init__(world, spec, token)
        files = sorted((world / "jcm").glob("*.ndjson"))
        if not files:
            raise MockDataError(f"no JCM ledger files (jcm/<ledger>.ndjson) in {world}")
        self.ledgers = {
            path.stem: Dataset(f"jcm-{path.stem}", f"jcm/{path.name}", path, FORMAT, spec)
            for path in files
        }
        self.authorizations = authorization_dataset(
            "jcm", world, "jcm/a6/authorizations.ndjson", "authorization_id", "itmo_quantity", spec
        )

    def datasets(self) -> Sequence[Dataset]:
        return tuple(self.ledgers.values())

    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/ledgers", self.list_ledgers),
            Route("GET", "/ledgers/{ledger}/credits", self.credits),
            Route("GET", "/authorizations", self.list_authorizations),
        )

    async def list_ledgers(self, request: web.Request, fault: Fault | None) -> Reply:
        return json_reply({"ledgers": sorted(self.ledgers)})

    async def credits(self, request: web.Request, fault: Fault | None) -> Reply:
        ledger = request.match_info["ledger"]
        dataset = self.ledgers.get(ledger)
        if dataset is None:
            return json_reply({"error": "unknown ledger"}, status=404)
        items, next_cursor = self._page(request, fault, dataset)
        return json_reply({"ledger": ledger, "items": items, "next_cursor": next_cursor})

    async def list_authorizations(self, request: web.Request, fault: Fault | None) -> Reply:
        """Authorizations of JCM projects by both parties (issue 19), paged like credits."""
        if self.authorizations is None:
            return json_reply({"items": [], "next_cursor": None})
        items, next_cursor = self._page(request, fault, self.authorizations)
        return json_reply({"items": items, "next_cursor": next_cursor})

    def _page(
        self, request: web.Request, fault: Fault | None, dataset: Dataset
    ) -> tuple[list[dict[str, Any]], str | None]:
        limit = min(int_param(request, "limit", DEFAULT_PAGE, minimum=1), MAX_PAGE)
        cursor = request.query.get("cursor")
        offset, alias = decode_cursor(cursor) if cursor else (0, 0)
        # An alias is never repeated again: a repeat must not stall the paging.
        if fault is Fault.REPEAT and offset > 0 and not alias:
            # The page before is served again, pointing on to this page under a new cursor.
            start = max(0, offset - limit)
            items = dataset.records(start, offset)
            next_cursor: str | None = encode_cursor(offset, alias + 1)
        else:
            items = dataset.records(offset, offset + limit)
            end = offset + len(items)
            next_cursor = encode_cursor(end) if end < len(dataset) else None
        return items, next_cursor
