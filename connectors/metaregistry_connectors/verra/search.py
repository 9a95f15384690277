"""Verra's search API as a paged stream.

``POST {base}/uiapi/asset/asset/search?$skip=S&$top=N&$count=true`` with a JSON filter body
answers ``{"totalCount": T, "value": [record, ...]}`` (DOMAIN.md lists the record fields).
Offset paging: the next offset is this offset plus the rows *received* (not the rows asked
for), so a page the server silently cut short skips nothing; the stream ends at an empty page
or once the offsets reach ``totalCount``. ``totalCount`` goes into the page totals for the
sync engine's reconciliation. The filter body, page size (at most 2,000), path and headers
come from the connector configuration; the base URL is ``ConnectorConfig.base_url``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal

import httpx

from metaregistry.connector import FatalSourceError, HttpStream, Page, RawRecord, RequestSpec
from metaregistry_connectors.verra.paging import (
    BROWSER_USER_AGENT,
    LoopGuard,
    json_body,
)

__all__ = ["DEFAULT_FILTER", "MAX_PAGE_SIZE", "SEARCH_PATH", "VerraSearchStream"]

SEARCH_PATH: Final = "/uiapi/asset/asset/search"
MAX_PAGE_SIZE: Final = 2000
#: Every VCS issuance block, in whatever state (the body the registry's own page sends).
DEFAULT_FILTER: Final = {"program": "VCS", "issuanceTypeCodes": ["ISSUE"]}


class VerraSearchStream(HttpStream):
    """All blocks the search filter matches; a snapshot of the registry."""

    name: ClassVar[str] = "search"
    mode: ClassVar[Literal["snapshot", "incremental"]] = "snapshot"
    # Offsets over a live index: a cursor is only a place to resume, never a watermark.
    sorted_by_cursor: ClassVar[bool] = False

    def __init__(
        self,
        base_url: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        search_filter: Mapping[str, Any] | None = None,
        path: str = SEARCH_PATH,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise FatalSourceError(
                f"verra: page_size must be between 1 and {MAX_PAGE_SIZE} (value: {page_size})"
            )
        self.url = base_url.rstrip("/") + "/" + path.lstrip("/")
        self.page_size = page_size
        self.search_filter = dict(search_filter if search_filter is not None else DEFAULT_FILTER)
        self.headers = {
            "Accept": "application/json",
            "User-Agent": BROWSER_USER_AGENT,
            **(headers or {}),
        }
        self._guard = LoopGuard()

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        self._guard.reset()
        skip = 0
        if cursor and not cursor.get("_complete"):
            skip = _offset(cursor.get("skip", 0))
        return self._request(skip)

    def _request(self, skip: int) -> RequestSpec:
        return RequestSpec(
            method="POST",
            url=self.url,
            params={"$skip": skip, "$top": self.page_size, "$count": "true"},
            headers=self.headers,
            json=self.search_filter,
            token=f"$skip={skip}",
        )

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        where = f"verra search {request.token}"
        body = json_body(response, where)
        total: int | None = None
        if isinstance(body, dict):
            rows = body.get("value")
            total = _total(body.get("totalCount"), where)
        else:
            rows = body
        if not isinstance(rows, list):
            raise FatalSourceError(
                f"{where}: expected a list of records (or an object with 'value'), "
                f"got {type(rows).__name__}"
            )
        skip = _offset(request.params.get("$skip", 0))
        records = [
            RawRecord(
                payload=row if isinstance(row, dict) else {"__not_an_object__": row},
                ref=f"{where}#{index}",
                stream=self.name,
            )
            for index, row in enumerate(rows)
        ]
        records = self._guard.admit(records, "serialNumbers", where)
        after = skip + len(rows)
        finished = not rows or (total is not None and after >= total)
        return Page(
            records=records,
            cursor={"skip": after},
            next_request=None if finished else self._request(after),
            totals=None if total is None else {"records": total},
        )


def _offset(value: Any) -> int:
    try:
        skip = int(value)
    except (TypeError, ValueError):
        raise FatalSourceError(f"verra: offset $skip is not a number (value: {value!r})") from None
    if skip < 0:
        raise FatalSourceError(f"verra: offset $skip is negative (value: {value!r})")
    return skip


def _total(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise FatalSourceError(f"{where}: totalCount is not a count (value: {value!r})")
