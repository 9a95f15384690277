"""What the Verra and Gold Standard streams share: reading a JSON page, catching a loop.

The sync engine sends the requests, retries 429/5xx and refuses a page token it has seen
before. Two things are left to the stream:

* a page body that is not the JSON it should be: cut off mid-JSON is worth another try
  (:class:`RetriableSourceError`); an HTML page with status 200 is a contract break
  (Verra's retired ``uiapi`` paths answer every request with the web app's HTML shell, so a
  naive scraper "succeeds" and parses garbage);
* a page that repeats the previous one (whole, or in front of the next page; a new record
  shifting offset pages, a flaky cache). The repeated records were stored with the previous
  page, so they are left out (the upsert would absorb them anyway, but the records seen
  would no longer match the source's totals); the engine's reconciliation reports any gap;
* a source that ignores the paging parameters and serves the same records under every new
  offset: :data:`LOOP_LIMIT` pages in a row that were seen before are a loop
  (:class:`FatalSourceError`), never an endless sync.
"""

from __future__ import annotations

import json
from typing import Any, Final

import httpx

from metaregistry.connector import FatalSourceError, RawRecord, RetriableSourceError

__all__ = ["BROWSER_USER_AGENT", "LOOP_LIMIT", "LoopGuard", "header_count", "json_body"]

#: Consecutive pages bringing only records already seen before the stream gives up.
LOOP_LIMIT: Final = 2
#: Gold Standard's edge (Cloudflare) answers 403 to clients that do not look like a browser.
BROWSER_USER_AGENT: Final = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36 metaregistry"
)


def json_body(response: httpx.Response, source: str) -> Any:
    """The JSON of a successful response, or the error kind the body calls for."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise RetriableSourceError(
            f"{source}: HTTP {status}", retry_after=_seconds(response.headers.get("Retry-After"))
        )
    if status >= 400:
        raise FatalSourceError(f"{source}: HTTP {status}: {response.text[:200]!r}")
    content = response.content
    if not content.strip():
        raise RetriableSourceError(f"{source}: HTTP {status} with an empty body")
    start = content.lstrip()[:1]
    if start == b"<":
        raise FatalSourceError(
            f"{source}: the response is HTML, not JSON (content-type "
            f"{response.headers.get('content-type', 'unknown')!r}); is the base URL right?"
        )
    try:
        return json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RetriableSourceError(
            f"{source}: the body is not complete JSON ({len(content)} bytes; {exc})"
        ) from exc


def header_count(response: httpx.Response, name: str, source: str) -> int | None:
    """A count header (``X-Total-Count``) as an int; None when absent."""
    value = response.headers.get(name)
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isdigit():
        raise FatalSourceError(f"{source}: header {name} is not a count (value: {value!r})")
    return int(text)


def _seconds(value: str | None) -> float | None:
    # Delta-seconds only: an HTTP-date needs the clock, which the engine owns and parses.
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


class LoopGuard:
    """Remembers the pages of one stream run: which it has seen (by the keys of their
    records) and the records of the last one."""

    def __init__(self, limit: int = LOOP_LIMIT) -> None:
        self.limit = limit
        self._seen: set[int] = set()
        self._streak = 0
        self._previous: dict[object, Any] = {}

    def reset(self) -> None:
        self._seen.clear()
        self._streak = 0
        self._previous = {}

    def admit(self, records: list[RawRecord], key: str, where: str) -> list[RawRecord]:
        """The records of a page that are not exact repeats of the previous page's.

        A repeat of the previous page (whole, or in front of the next one) is already
        stored; dropping it keeps the records seen equal to the source's totals. A record
        whose content changed in between is kept. Raises FatalSourceError when ``limit``
        pages in a row held only pages seen before: the source is going in circles."""
        previous = self._previous
        current: dict[object, Any] = {}
        fresh: list[RawRecord] = []
        keys: list[object] = []
        for record in records:
            ident = record.payload.get(key)
            if not isinstance(ident, str | int):
                ident = repr(ident)
            keys.append(ident)
            current[ident] = record.payload
            if ident in previous and previous[ident] == record.payload:
                continue
            fresh.append(record)
        self._previous = current
        self._check(keys, where)
        return fresh

    def _check(self, keys: list[object], where: str) -> None:
        if not keys:
            return
        fingerprint = hash(tuple(keys))
        if fingerprint not in self._seen:
            self._seen.add(fingerprint)
            self._streak = 0
            return
        self._streak += 1
        if self._streak >= self.limit:
            raise FatalSourceError(
                f"{where}: {self._streak} pages in a row served records already seen in this "
                "run; the source ignores the paging parameters, stopping instead of looping"
            )
