"""The ``verra`` connector: the search API and the registry's export files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

from pydantic import Field

from metaregistry.connector import (
    Connector,
    ConnectorConfig,
    ConnectorOptions,
    HttpStream,
    RawRecord,
    RecordError,
)
from metaregistry.model import UnitBlock
from metaregistry.reading import JSON_SUFFIXES, json_records
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


class VerraOptions(ConnectorOptions):
    """``[connectors.verra]`` options."""

    page_size: int = Field(
        MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="blocks per search request"
    )
    search_filter: dict[str, Any] = Field(
        default_factory=lambda: dict(DEFAULT_FILTER),
        description="the search body (default: every VCS issuance block)",
    )
    search_path: str = Field(SEARCH_PATH, min_length=1, description="the search API's path")
    headers: dict[str, str] = Field(
        default_factory=dict, description="extra request headers (e.g. a cookie)"
    )


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

    options_model: ClassVar[type[ConnectorOptions]] = VerraOptions

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: VerraOptions = self.options(config)
        base_url = self.base_url(config)
        return [
            VerraSearchStream(
                base_url,
                page_size=options.page_size,
                search_filter=options.search_filter,
                path=options.search_path,
                headers=options.headers,
            )
        ]

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        if path.suffix.lower() in JSON_SUFFIXES:  # saved API answers, as the sync gets them
            return json_records(path, _api_stream)
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


def _api_stream(payload: dict[str, Any]) -> str:
    """The stream a saved API record came on: Verra's search API is one stream."""
    return "search"
