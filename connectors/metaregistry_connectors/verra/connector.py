"""The ``verra`` connector: the search API and the registry's export files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

from metaregistry.connector import (
    Connector,
    ConnectorConfig,
    FatalSourceError,
    HttpStream,
    RawRecord,
    RecordError,
)
from metaregistry.model import UnitBlock
from metaregistry_connectors.verra.blocks import holding_block, transaction_block
from metaregistry_connectors.verra.fields import FILE_KINDS, SEARCH, TRANSACTIONS
from metaregistry_connectors.verra.search import (
    DEFAULT_FILTER,
    MAX_PAGE_SIZE,
    SEARCH_PATH,
    VerraSearchStream,
)
from metaregistry_connectors.verra.tabular import read_table

__all__ = ["RAW_SCHEMAS", "VerraConnector"]

#: Raw schema of each stream and file kind.
RAW_SCHEMAS: Final = {
    "search": "raw/verra/search.schema.json",
    "transactions": "raw/verra/transactions.schema.json",
    "holdings": "raw/verra/holdings.schema.json",
}


class VerraConnector(Connector):
    """Verra's VCS registry (VCUs; registry-wide block numbering).

    Streams: ``search`` (the JSON search API, offset paging). Files (``metaregistry import
    verra FILE``, CSV or XLSX, told apart by their header): the transactions export and the
    sub-account holdings report. See ``README.md`` in this package for the field mapping and
    the retired-or-cancelled convention.

    Options (``[connectors.verra]``): ``page_size`` (1-2000, default 2000), ``search_filter``
    (the JSON body, default every VCS issuance), ``search_path``, ``headers``.
    """

    name: ClassVar[str] = "verra"
    registries: ClassVar[tuple[str, ...]] = ("verra",)
    description: ClassVar[str] = "Verra VCS registry: search API, transactions and holdings files"
    default_base_url: ClassVar[str | None] = "https://registry.verra.org"

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: Mapping[str, Any] = config.options
        base_url = config.base_url or self.default_base_url
        if not base_url:
            raise FatalSourceError("verra: no base_url configured")
        search_filter = options.get("search_filter", DEFAULT_FILTER)
        if not isinstance(search_filter, Mapping):
            raise FatalSourceError(
                f"verra: option search_filter must be a table (value: {search_filter!r})"
            )
        headers = options.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise FatalSourceError(f"verra: option headers must be a table (value: {headers!r})")
        page_size = options.get("page_size", MAX_PAGE_SIZE)
        if not isinstance(page_size, int) or isinstance(page_size, bool):
            raise FatalSourceError(f"verra: option page_size must be a number ({page_size!r})")
        return [
            VerraSearchStream(
                base_url,
                page_size=page_size,
                search_filter=search_filter,
                path=str(options.get("search_path", SEARCH_PATH)),
                headers={str(k): str(v) for k, v in headers.items()},
            )
        ]

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        return read_table(path, FILE_KINDS, "Verra")

    def raw_schema_for(self, record: RawRecord) -> str | None:
        return RAW_SCHEMAS.get(_kind(record))

    def normalize(self, record: RawRecord) -> UnitBlock:
        kind = _kind(record)
        if kind == "search":
            return transaction_block(record.payload, SEARCH)
        if kind == "transactions":
            return transaction_block(record.payload, TRANSACTIONS)
        if kind == "holdings":
            return holding_block(record.payload)
        raise RecordError(
            f"verra has no stream or file kind {record.stream!r} (known: {', '.join(RAW_SCHEMAS)})"
        )


def _kind(record: RawRecord) -> str:
    """The record's stream, or for a record built elsewhere (stream "default"), the kind its
    payload shows."""
    if record.stream in RAW_SCHEMAS:
        return record.stream
    payload = record.payload
    if SEARCH.serial in payload:
        return "search"
    if TRANSACTIONS.serial in payload:
        return "holdings" if "Sub-Account ID" in payload else "transactions"
    return record.stream
