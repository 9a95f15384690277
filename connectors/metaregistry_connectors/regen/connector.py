"""The ``regen`` connector: Regen Ledger credit batches (the C01 Verra bridge included)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar, Final

import pydantic

from metaregistry.connector import (
    Connector,
    ConnectorConfig,
    ConnectorOptions,
    HttpStream,
    RawRecord,
)
from metaregistry.model import UnitBlock
from metaregistry_connectors.kinds import RecordKinds
from metaregistry_connectors.regen.api import MAX_LIMIT, RegenBatches
from metaregistry_connectors.regen.blocks import api_batch_block, file_batch_block
from metaregistry_connectors.regen.metadata import batch_metadata_record
from metaregistry_connectors.verra.tabular import FileKind, read_table

__all__ = ["FILE_KINDS", "RAW_SCHEMAS", "RegenConnector", "RegenOptions"]

BATCH_TABLE_KIND: Final = FileKind(
    "batch-table", frozenset({"regen_batch_metadata_file", "vcs_retirement_serial_number"})
)
FILE_KINDS: Final = (BATCH_TABLE_KIND,)
RAW_SCHEMAS: Final = {
    "batch-table": "raw/regen/batch_table.schema.json",
    "batches": "raw/regen/batches.schema.json",
}
KINDS: Final = RecordKinds(
    "regen",
    {
        "batch-table": (RAW_SCHEMAS["batch-table"], file_batch_block),
        "batches": (RAW_SCHEMAS["batches"], api_batch_block),
    },
    (
        (frozenset({"regen_batch_metadata_file"}), "batch-table"),
        (frozenset({"denom"}), "batches"),
    ),
)


class RegenOptions(ConnectorOptions):
    """``[connectors.regen]`` options (a Regen Ledger REST endpoint)."""

    limit: int = pydantic.Field(
        default=MAX_LIMIT, ge=1, le=MAX_LIMIT, description="batches per page (pagination.limit)"
    )
    classes: list[str] = pydantic.Field(
        default_factory=list,
        description='credit classes to keep, e.g. ["C01"] (empty: every class)',
    )
    headers: dict[str, str] = pydantic.Field(
        default_factory=dict, description="extra request headers"
    )
    metadata_url: str | None = pydantic.Field(
        default=None,
        pattern=r"^https?://.*\{iri\}",
        description="a metadata resolver URL with {iri}; C01 batches are then numbered by "
        "their Verra serial (default: not resolved)",
    )


class RegenConnector(Connector):
    """Regen Ledger ecocredit batches. File (``metaregistry import regen FILE``): the C01
    batch table, each batch with the Verra retirement serial it was issued from. Stream:
    ``batches`` from a ledger REST endpoint. See ``README.md`` in this package."""

    name: ClassVar[str] = "regen"
    registries: ClassVar[tuple[str, ...]] = ("regen",)
    description: ClassVar[str] = "Regen Ledger ecocredit batches (C01: bridged Verra VCUs)"
    default_base_url: ClassVar[str | None] = "https://regen-api.polkachu.com"
    options_model: ClassVar[type[ConnectorOptions]] = RegenOptions

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: RegenOptions = self.options(config)
        base_url = self.base_url(config)
        return [
            RegenBatches(
                base_url,
                limit=options.limit,
                classes=frozenset(options.classes),
                headers=options.headers,
                metadata_url=options.metadata_url,
            )
        ]

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        if path.suffix.lower() in (".jsonld", ".json"):
            return iter([batch_metadata_record(path)])
        return read_table(path, FILE_KINDS, "Regen Ledger batch")

    def raw_schema_for(self, record: RawRecord) -> str | None:
        return KINDS.raw_schema(record)

    def normalize(self, record: RawRecord) -> UnitBlock:
        return KINDS.normalize(record)
