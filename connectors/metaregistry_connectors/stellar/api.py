"""Stellarcarbon's published audit data (``stellarcarbon/sc-data`` on GitHub) as streams.

Stellarcarbon publishes its audit tables as NDJSON files in a public repository
(``sc-audit/minted_blocks.ndjson``, ``sc-audit/retirements.ndjson``), rebuilt from the Stellar
ledger and Verra by its ``sc-audit`` tool. Each line is a positional JSON array; the column
names are those of ``sc-audit``'s database schema, in that order (the same names and order as
the CSV conversion in the real-data samples). A file is one response: a snapshot stream of
one page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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

__all__ = ["COLUMNS", "DEFAULT_BASE_URL", "MintedBlocks", "Retirements", "ScAuditTable"]

DEFAULT_BASE_URL: Final = "https://raw.githubusercontent.com/stellarcarbon/sc-data/main"
#: Column names of each table, in the order of the positional arrays.
COLUMNS: Final = {
    "minted_blocks": (
        "serial_hash", "transaction_hash", "created_at", "vcs_project_id", "serial_number",
        "block_start", "block_end", "sub_account_id", "sub_account_name", "vintage_start",
        "vintage_end", "toid",
    ),
    "retirements": (
        "certificate_id", "vcu_amount", "serial_number", "retirement_date",
        "retirement_beneficiary", "retirement_details", "vcs_project_id", "issuance_date",
        "instrument_type", "vintage_start", "vintage_end", "total_vintage_quantity",
    ),
}  # fmt: skip


class ScAuditTable(HttpStream):
    """One sc-audit table as one snapshot page; the stream is named after the table."""

    mode: ClassVar[Literal["snapshot", "incremental"]] = "snapshot"
    sorted_by_cursor: ClassVar[bool] = False
    table: ClassVar[str] = "minted_blocks"

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        self.url = f"{base_url.rstrip('/')}/sc-audit/{self.table}.ndjson"
        self.headers = dict(headers or {})

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        headers = dict(self.headers)
        etag = (cursor or {}).get("etag")
        if isinstance(etag, str) and etag:
            headers["If-None-Match"] = etag
        return RequestSpec(method="GET", url=self.url, headers=headers, token=self.table)

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        where = f"stellar {self.table}"
        etag = response.headers.get("ETag", "")
        if response.status_code == 304:
            return Page(records=[], cursor={"etag": etag}, next_request=None, not_modified=True)
        if response.status_code == 429 or response.status_code >= 500:
            raise RetriableSourceError(f"{where}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise FatalSourceError(f"{where}: HTTP {response.status_code} from {self.url}")
        columns = COLUMNS[self.table]
        records: list[RawRecord] = []
        lines = response.content.split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                if number == len(lines):  # the last line cut off: the body is incomplete
                    raise RetriableSourceError(f"{where}:{number}: cut off ({exc})") from exc
                raise FatalSourceError(f"{where}:{number}: not a JSON line ({exc})") from exc
            if not isinstance(row, list) or len(row) != len(columns):
                raise FatalSourceError(
                    f"{where}:{number}: expected an array of {len(columns)} values "
                    f"({', '.join(columns)}), got {row!r:.200}"
                )
            payload = {name: _text(value) for name, value in zip(columns, row, strict=True)}
            records.append(RawRecord(payload, f"{where}:{number}", self.table))
        return Page(
            records=records,
            cursor={"etag": etag} if etag else {},
            next_request=None,
        )


def _text(value: Any) -> str:
    """A cell as the CSV form of the table prints it, so both paths hash the same."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


class MintedBlocks(ScAuditTable):
    """``minted_blocks``: the Verra blocks tokenized on Stellar."""

    name: ClassVar[str] = "minted_blocks"
    table: ClassVar[str] = "minted_blocks"


class Retirements(ScAuditTable):
    """``retirements``: the Verra retirement certificates that sank tokens."""

    name: ClassVar[str] = "retirements"
    table: ClassVar[str] = "retirements"
