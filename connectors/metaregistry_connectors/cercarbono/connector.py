"""The ``cercarbono`` connector: EcoRegistry's exports and its public front-end API."""

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
from metaregistry_connectors.cercarbono.api import EcoRegistryIssuances, EcoRegistryRetirements
from metaregistry_connectors.cercarbono.blocks import issuance_block, retirement_block
from metaregistry_connectors.kinds import RecordKinds
from metaregistry_connectors.verra.tabular import FileKind, read_table

__all__ = ["FILE_KINDS", "RAW_SCHEMAS", "CercarbonoConnector", "CercarbonoOptions"]

ISSUANCES_KIND: Final = FileKind(
    "issuances",
    frozenset({"serial", "issued_quantity", "is_buffer"}),
    excluded=frozenset({"from", "to"}),
)
RETIREMENTS_KIND: Final = FileKind("retirements", frozenset({"serial", "quantity", "from", "to"}))
FILE_KINDS: Final = (ISSUANCES_KIND, RETIREMENTS_KIND)
RAW_SCHEMAS: Final = {
    "issuances": "raw/cercarbono/issuances.schema.json",
    "retirements": "raw/cercarbono/retirements.schema.json",
}
KINDS: Final = RecordKinds(
    "cercarbono",
    {
        "issuances": (RAW_SCHEMAS["issuances"], issuance_block),
        "retirements": (RAW_SCHEMAS["retirements"], retirement_block),
    },
    (
        (frozenset({"issued_quantity"}), "issuances"),
        (frozenset({"quantity", "serial"}), "retirements"),
    ),
)


class CercarbonoOptions(ConnectorOptions):
    """``[connectors.cercarbono]`` options (EcoRegistry's front-end API)."""

    standard: str = pydantic.Field(
        default="cercarbono-co2",
        min_length=1,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="the EcoRegistry standard whose projects are read (cercarbono-co2: tCO2e)",
    )
    headers: dict[str, str] = pydantic.Field(
        default_factory=dict,
        description="extra request headers (platform, lng, Origin are sent already)",
    )


class CercarbonoConnector(Connector):
    """Cercarbono credits on EcoRegistry (Colombia). Files (``metaregistry import cercarbono
    FILE``, CSV or XLSX, told apart by their header): the issued serials and the retirement
    list with unit positions. Streams: ``issuances`` and ``retirements`` from the front-end
    API. See ``README.md`` in this package."""

    name: ClassVar[str] = "cercarbono"
    registries: ClassVar[tuple[str, ...]] = ("cercarbono",)
    description: ClassVar[str] = "Cercarbono on EcoRegistry: issued serials and retirements"
    default_base_url: ClassVar[str | None] = "https://api-front.ecoregistry.io"
    options_model: ClassVar[type[ConnectorOptions]] = CercarbonoOptions

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: CercarbonoOptions = self.options(config)
        base_url = self.base_url(config)
        return [
            kind(base_url, standard=options.standard, headers=options.headers)
            for kind in (EcoRegistryIssuances, EcoRegistryRetirements)
        ]

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        return read_table(path, FILE_KINDS, "Cercarbono (EcoRegistry)")

    def raw_schema_for(self, record: RawRecord) -> str | None:
        return KINDS.raw_schema(record)

    def normalize(self, record: RawRecord) -> UnitBlock:
        return KINDS.normalize(record)
