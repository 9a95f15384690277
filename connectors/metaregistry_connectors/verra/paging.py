"""What the Verra and Gold Standard streams share: reading a JSON page, catching a loop.

The sync engine sends the requests, retries 429/5xx and refuses a page token it has seen
before. Two things are left to the stream:

* a page body that is not the JSON it should be: cut off mid-JSON is worth another try
  (:class:`RetriableSourceError`); an HTML page with status 200 is a contract break
  (Verra's retired ``uiapi`` paths answer every request with the web app's HTML shell, so a
  naive scraper "succeeds" and parses garbage);
* a source that ignores the paging parameters and serves the same records under every new
  offset. A page that repeats records already seen can happen once (a new record shifting
  offset pages, a flaky cache): its records are stored again, which the idempotent upsert
  absorbs, and the engine's reconciliation against the source's totals reports the gap. Only
  :data:`LOOP_LIMIT` such pages in a row are a loop (:class:`FatalSourceError`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import httpx

from metaregistry.connector import FatalSourceError, RetriableSourceError

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
    """Remembers which pages (by the keys of their records) a stream run has seen."""

    def __init__(self, limit: int = LOOP_LIMIT) -> None:
        self.limit = limit
        self._seen: set[int] = set()
        self._streak = 0

    def reset(self) -> None:
        self._seen.clear()
        self._streak = 0

    def check(self, keys: Sequence[object], where: str) -> None:
        """Note a page; raise FatalSourceError when ``limit`` pages in a row repeated."""
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
