"""The ``stellar`` connector: Stellarcarbon's CARBON tokens on Stellar (a custody bridge)."""

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
from metaregistry_connectors.stellar.api import DEFAULT_BASE_URL, MintedBlocks, Retirements
from metaregistry_connectors.stellar.blocks import minted_block, retirement_block
from metaregistry_connectors.verra.tabular import FileKind, read_table

__all__ = ["FILE_KINDS", "RAW_SCHEMAS", "StellarConnector", "StellarOptions"]

MINTED_KIND: Final = FileKind(
    "minted_blocks", frozenset({"serial_hash", "serial_number", "block_start", "block_end"})
)
RETIREMENTS_KIND: Final = FileKind(
    "retirements", frozenset({"certificate_id", "vcu_amount", "serial_number"})
)
FILE_KINDS: Final = (MINTED_KIND, RETIREMENTS_KIND)
RAW_SCHEMAS: Final = {
    "minted_blocks": "raw/stellar/minted_blocks.schema.json",
    "retirements": "raw/stellar/retirements.schema.json",
}
KINDS: Final = RecordKinds(
    "stellar",
    {
        "minted_blocks": (RAW_SCHEMAS["minted_blocks"], minted_block),
        "retirements": (RAW_SCHEMAS["retirements"], retirement_block),
    },
    (
        (frozenset({"serial_hash"}), "minted_blocks"),
        (frozenset({"certificate_id"}), "retirements"),
    ),
)


class StellarOptions(ConnectorOptions):
    """``[connectors.stellar]`` options (the sc-data NDJSON downloads)."""

    headers: dict[str, str] = pydantic.Field(
        default_factory=dict, description="extra request headers"
    )


class StellarConnector(Connector):
    """Stellarcarbon: Verra VCUs held in its CARBON Pool sub-account and tokenized on Stellar.
    Files (``metaregistry import stellar FILE``, told apart by their header): the sc-audit
    ``minted_blocks`` and ``retirements`` tables. Streams: the same tables from the public
    sc-data repository. See ``README.md`` in this package."""

    name: ClassVar[str] = "stellar"
    registries: ClassVar[tuple[str, ...]] = ("stellar",)
    description: ClassVar[str] = "Stellarcarbon CARBON tokens: minted Verra blocks, retirements"
    default_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    options_model: ClassVar[type[ConnectorOptions]] = StellarOptions

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: StellarOptions = self.options(config)
        base_url = self.base_url(config)
        return [MintedBlocks(base_url, options.headers), Retirements(base_url, options.headers)]

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        return read_table(path, FILE_KINDS, "Stellarcarbon sc-audit")

    def raw_schema_for(self, record: RawRecord) -> str | None:
        return KINDS.raw_schema(record)

    def normalize(self, record: RawRecord) -> UnitBlock:
        return KINDS.normalize(record)
