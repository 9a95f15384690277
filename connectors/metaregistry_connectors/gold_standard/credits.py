"""Gold Standard's public API (``GET /credits?page=N&size=25``) as paged streams.

Measured behaviour this follows (DOMAIN.md and public accounts of the API):

* ``page`` counts from 1; ``size`` is capped at 25 (larger sizes are refused with a 403 that
  looks like a block), so a configured size above 25 is lowered to 25;
* issued blocks by default, retired ones with ``issuances=false``: two streams;
* newest first by descending ``id``, stable across pages;
* counts in headers: ``X-Total-Count`` (records) and ``X-Total-Number-Of-Credits`` (units),
  passed on as page totals ``records`` and ``quantity`` for the engine's reconciliation;
* a browser-like ``User-Agent`` is required (otherwise Cloudflare answers 403).

The stream ends at an empty page or once the pages cover ``X-Total-Count``. GS terms forbid
automated download, so the streams are for deployments that have permission; the export
files (``metaregistry import gold-standard FILE``) are the first-class path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal

import httpx

from metaregistry.connector import FatalSourceError, HttpStream, Page, RawRecord, RequestSpec
from metaregistry_connectors.verra.paging import (
    BROWSER_USER_AGENT,
    LoopGuard,
    header_count,
    json_body,
)

__all__ = [
    "FIRST_PAGE",
    "MAX_SIZE",
    "GoldStandardIssuedCredits",
    "GoldStandardRetiredCredits",
]

MAX_SIZE: Final = 25
FIRST_PAGE: Final = 1
TOTAL_RECORDS: Final = "X-Total-Count"
TOTAL_UNITS: Final = "X-Total-Number-Of-Credits"


class GoldStandardIssuedCredits(HttpStream):
    """Issued credit blocks (``GET /credits``); a snapshot of the issued list."""

    name: ClassVar[str] = "issued"
    mode: ClassVar[Literal["snapshot", "incremental"]] = "snapshot"
    # Pages shift when blocks are added at the top: a cursor only says where to resume.
    sorted_by_cursor: ClassVar[bool] = False
    extra_params: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        base_url: str,
        *,
        size: int = MAX_SIZE,
        user_agent: str = BROWSER_USER_AGENT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if size < 1:
            raise FatalSourceError(f"gold-standard: size must be at least 1 (value: {size})")
        self.url = base_url.rstrip("/") + "/credits"
        self.size = min(size, MAX_SIZE)
        self.headers = {"Accept": "application/json", "User-Agent": user_agent, **(headers or {})}
        self._guard = LoopGuard()

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        self._guard.reset()
        page = FIRST_PAGE
        if cursor and not cursor.get("_complete"):
            page = _page_number(cursor.get("page", FIRST_PAGE - 1)) + 1
        return self._request(page)

    def _request(self, page: int) -> RequestSpec:
        return RequestSpec(
            method="GET",
            url=self.url,
            params={"page": page, "size": self.size, **self.extra_params},
            headers=self.headers,
            token=f"page={page}",
        )

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        page = _page_number(request.params.get("page", FIRST_PAGE))
        where = f"gold-standard {self.name} page={page}"
        body = json_body(response, where)
        if not isinstance(body, list):
            raise FatalSourceError(
                f"{where}: expected a JSON list of credit blocks, got {type(body).__name__}"
            )
        records = [
            RawRecord(
                payload=row if isinstance(row, dict) else {"__not_an_object__": row},
                ref=f"{where}#{index}",
                stream=self.name,
            )
            for index, row in enumerate(body)
        ]
        records = self._guard.admit(records, "id", where)
        total = header_count(response, TOTAL_RECORDS, where)
        units = header_count(response, TOTAL_UNITS, where)
        covered = (page - FIRST_PAGE + 1) * self.size
        finished = not body or (total is not None and covered >= total)
        totals = {
            key: value
            for key, value in (("records", total), ("quantity", units))
            if value is not None
        }
        return Page(
            records=records,
            cursor={"page": page},
            next_request=None if finished else self._request(page + 1),
            totals=totals or None,
        )


class GoldStandardRetiredCredits(GoldStandardIssuedCredits):
    """Retired (and cancelled) credit blocks (``GET /credits?issuances=false``)."""

    name: ClassVar[str] = "retired"
    extra_params: ClassVar[Mapping[str, str]] = {"issuances": "false"}


def _page_number(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FatalSourceError(
            f"gold-standard: page number is not a number (value: {value!r})"
        ) from None
    if number < FIRST_PAGE - 1:
        raise FatalSourceError(f"gold-standard: page number below {FIRST_PAGE} ({value!r})")
    return number
