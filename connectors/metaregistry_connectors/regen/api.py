"""Regen Ledger's ecocredit REST endpoints (the chain's gRPC gateway) as a snapshot stream.

Shapes (regen-ledger ``regen/ecocredit/v1/query.proto``; see README.md for what is confirmed):

* ``GET {base}/regen/ecocredit/v1/batches?pagination.key=K&pagination.limit=N`` answers
  ``{"batches": [BatchInfo...], "pagination": {"next_key": "base64" | null, "total": "13"}}``;
  a ``BatchInfo`` is ``issuer``, ``project_id``, ``denom``, ``metadata`` (an IRI),
  ``start_date``, ``end_date``, ``issuance_date``, ``open``;
* ``GET {base}/regen/ecocredit/v1/batches/{denom}/supply`` answers ``tradable_amount``,
  ``retired_amount``, ``cancelled_amount`` (decimal strings).

A batch list states no amounts, so the stream asks for each batch's supply before it hands
the batch on: one page of batches, then one request per batch, then the next page. With a
metadata resolver configured (``metadata_url``, a template with ``{iri}``, e.g. the registry
server's ``…/metadata-graph/{iri}``), it also fetches each batch's metadata document; a C01
document's ``regen:vcsRetirementSerialNumber`` then numbers the batch in the Verra scheme, as
the batch table does (a 404 leaves the batch unnumbered). The
batches still to fetch and the next page key are the cursor, so a run stopped anywhere
resumes at the batch it stopped at. Key paging: a ``next_key`` seen before in this run is
a loop and stops the stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal
from urllib.parse import quote

import httpx

from metaregistry.connector import FatalSourceError, HttpStream, Page, RawRecord, RequestSpec
from metaregistry_connectors.verra.paging import json_body

__all__ = ["BATCHES_PATH", "MAX_LIMIT", "RegenBatches"]

BATCHES_PATH: Final = "/regen/ecocredit/v1/batches"
#: The metadata field naming the Verra retirement a C01 batch was issued from.
METADATA_SERIAL: Final = "regen:vcsRetirementSerialNumber"
#: The gateway's default page limit is 100; larger pages are allowed but slow on public nodes.
MAX_LIMIT: Final = 100


class RegenBatches(HttpStream):
    """Every credit batch of the ledger (optionally of some classes), with its supply."""

    name: ClassVar[str] = "batches"
    mode: ClassVar[Literal["snapshot", "incremental"]] = "snapshot"
    # Keys order the batches, but new batches can sort anywhere: the cursor only resumes.
    sorted_by_cursor: ClassVar[bool] = False

    def __init__(
        self,
        base_url: str,
        *,
        limit: int = MAX_LIMIT,
        classes: frozenset[str] = frozenset(),
        headers: Mapping[str, str] | None = None,
        metadata_url: str | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.metadata_url = metadata_url
        self.limit = limit
        self.classes = classes
        self.headers = {"Accept": "application/json", **(headers or {})}
        self._keys: set[str] = set()
        # The batches of the current page still waiting for their supply, and the key of
        # the page after it: the stream's own state, mirrored into every cursor.
        self._pending: list[dict[str, Any]] = []
        self._following: str | None = None

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        self._keys.clear()
        self._pending, self._following = [], None
        if cursor and not cursor.get("_complete"):
            pending = cursor.get("pending") or []
            if not isinstance(pending, list) or not all(isinstance(b, dict) for b in pending):
                raise FatalSourceError(
                    f"regen batches: a cursor with bad pending batches {cursor!r:.200}"
                )
            following = cursor.get("next_key")
            self._pending = [dict(b) for b in pending]
            self._following = str(following) if following else None
            return self._next()
        return self._page(None)

    def _page(self, key: str | None) -> RequestSpec:
        params: dict[str, Any] = {"pagination.limit": self.limit}
        if key:
            if key in self._keys:
                raise FatalSourceError(
                    f"regen batches: next_key {key!r} came back a second time in this run; "
                    "the source is going in circles"
                )
            self._keys.add(key)
            params["pagination.key"] = key
        return RequestSpec(
            method="GET",
            url=self.base + BATCHES_PATH,
            params=params,
            headers=self.headers,
            token=f"page:{key or ''}",
        )

    def _next(self) -> RequestSpec | None:
        if self._pending:
            batch = self._pending[0]
            if "supply" not in batch:
                return self._supply(batch)
            return self._metadata(batch)
        if self._following:
            return self._page(self._following)
        return None

    def _supply(self, batch: Mapping[str, Any]) -> RequestSpec:
        denom = batch.get("denom") if isinstance(batch, dict) else None
        if not isinstance(denom, str) or not denom:
            raise FatalSourceError(f"regen batches: a batch without a denom ({batch!r:.200})")
        return RequestSpec(
            method="GET",
            url=f"{self.base}{BATCHES_PATH}/{quote(denom, safe='')}/supply",
            headers=self.headers,
            token=f"supply:{denom}",
        )

    def _metadata(self, batch: Mapping[str, Any]) -> RequestSpec:
        """The batch's metadata document, when a resolver is configured and the batch names
        an IRI; the answer's ``regen:vcsRetirementSerialNumber`` numbers a C01 batch."""
        return RequestSpec(
            method="GET",
            url=str(self.metadata_url).replace("{iri}", quote(str(batch["metadata"]), safe=":")),
            headers=self.headers,
            token=f"metadata:{batch['denom']}",
            accept=frozenset({404, 410}),
        )

    def _wants_metadata(self, batch: Mapping[str, Any]) -> bool:
        return bool(self.metadata_url and batch.get("metadata"))

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        where = f"regen {request.token}"
        kind, _, denom = request.token.partition(":")
        if kind != "page" and (not self._pending or self._pending[0].get("denom") != denom):
            raise FatalSourceError(f"{where}: an answer the stream did not ask for")
        if kind == "metadata" and response.status_code in (404, 410):
            return self._emit(where)  # no document behind the IRI: the batch stays unnumbered
        body = json_body(response, where)
        if not isinstance(body, dict):
            raise FatalSourceError(f"{where}: expected a JSON object, got {type(body).__name__}")
        if kind == "page":
            return self._batches(body, where)
        batch = self._pending[0]
        if kind == "supply":
            batch["supply"] = {
                key: body.get(key)
                for key in ("tradable_amount", "retired_amount", "cancelled_amount")
            }
            if self._wants_metadata(batch):
                return self._after([])
            return self._emit(where)
        serial = body.get(METADATA_SERIAL)
        if isinstance(serial, str) and serial.strip():
            batch["vcs_retirement_serial_number"] = serial.strip()
            project = body.get("regen:vcsProjectId")
            if isinstance(project, int | str) and str(project).strip():
                batch["vcs_project_id"] = str(project).strip()
        return self._emit(where)

    def _emit(self, where: str) -> Page:
        batch = self._pending.pop(0)
        return self._after([RawRecord(batch, where, self.name)])

    def _batches(self, body: Mapping[str, Any], where: str) -> Page:
        batches = body.get("batches")
        if not isinstance(batches, list):
            raise FatalSourceError(f"{where}: the answer has no list 'batches' ({sorted(body)})")
        paging = body.get("pagination") or {}
        following = paging.get("next_key") if isinstance(paging, dict) else None
        bad = [b for b in batches if not isinstance(b, dict) or not b.get("denom")]
        if bad:
            raise FatalSourceError(f"{where}: a batch without a denom ({bad[0]!r:.200})")
        self._pending = [
            dict(b)
            for b in batches
            if not self.classes or str(b["denom"]).split("-")[0] in self.classes
        ]
        self._following = str(following) if following else None
        total = paging.get("total") if isinstance(paging, dict) else None
        page = self._after([])
        if isinstance(total, str | int) and str(total).isdigit() and not self.classes:
            page.totals = {"records": int(total)}
        return page

    def _after(self, records: list[RawRecord]) -> Page:
        return Page(
            records=records,
            cursor={"pending": [dict(b) for b in self._pending], "next_key": self._following},
            next_request=self._next(),
        )
