"""The ``art-trees`` connector: ART TREES's public reports (issuances, retirements,
cancellations), from export files or downloaded from the registry's site. See README.md."""

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
from metaregistry.model import Status, UnitBlock
from metaregistry_connectors.apx.report import ReportStream
from metaregistry_connectors.apx.tables import IssuanceColumns, Registry, UnitColumns

__all__ = ["REGISTRY", "ArtTreesConnector", "ArtTreesOptions"]

REGISTRY: Final = Registry(
    slug="art-trees",
    label="ART TREES",
    scheme="art",
    issuances=IssuanceColumns(
        quantity="Credits Verified",
        project="Program ID",
        vintage="Vintage",
        date="Date Approved",
        period=None,
        country=None,
        extra_key=(),
        required=frozenset(("Credits Verified", "Program ID", "Vintage", "Date Approved")),
    ),
    retirements=UnitColumns(
        serial="Credit Serial Numbers",
        quantity="Quantity of Credits",
        date="Status Effective",
        project="Program ID",
        reasons=(
            ("reason", "Retirement Reason"),
            ("purpose", "Purpose of Retirement"),
            ("on behalf of", "Retired on Behalf of"),
        ),
        required=frozenset(
            ("Credit Serial Numbers", "Quantity of Credits", "Program ID", "Retirement Reason")
        ),
    ),
    cancellations=UnitColumns(
        serial="Credit Serial Numbers",
        quantity="Quantity of Credits",
        date="Status Effective",
        project="Program ID",
        reasons=(("reason", "Cancellation Reason"), ("details", "Cancellation Details")),
        required=frozenset(
            ("Credit Serial Numbers", "Quantity of Credits", "Program ID", "Cancellation Reason")
        ),
        status=Status.CANCELLED.value,
    ),
    schemas={
        "issuances": "raw/art-trees/issuances.schema.json",
        "retirements": "raw/art-trees/retirements.schema.json",
        "cancellations": "raw/art-trees/cancellations.schema.json",
    },
)
KINDS: Final = REGISTRY.kinds()


class ArtTreesOptions(ConnectorOptions):
    """``[connectors.art-trees]`` options: where the registry's public reports are served
    (paths under ``base_url``; an empty path skips that report)."""

    issuances_path: str = pydantic.Field(
        "/myModule/rpt/myrpt.asp?r=112",
        description="the issuances report (r=112, assumed: see README)",
    )
    retirements_path: str = pydantic.Field(
        "/myModule/rpt/myrpt.asp?r=206",
        description="the retirements report (r=206, assumed: see README)",
    )
    cancellations_path: str = pydantic.Field(
        "/myModule/rpt/myrpt.asp?r=308",
        description="the cancellations report (r=308, assumed: see README)",
    )
    headers: dict[str, str] = pydantic.Field(
        default_factory=dict, description="extra request headers"
    )


class ArtTreesConnector(Connector):
    """ART TREES: issuances (quantities per project and vintage, never range compared),
    retirements and cancellations (serial ranges). Files: ``metaregistry import art-trees
    FILE...`` (CSV or XLSX, the kind read from the header row). Streams: the three public
    reports, each one snapshot page."""

    name: ClassVar[str] = "art-trees"
    registries: ClassVar[tuple[str, ...]] = ("art-trees",)
    description: ClassVar[str] = "ART TREES: issuances, retirements, cancellations"
    default_base_url: ClassVar[str | None] = "https://art.apx.com"
    options_model: ClassVar[type[ConnectorOptions]] = ArtTreesOptions

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: ArtTreesOptions = self.options(config)
        base = self.base_url(config).rstrip("/")
        paths = (options.issuances_path, options.retirements_path, options.cancellations_path)
        return [
            ReportStream(
                kind, base + path, REGISTRY.label, options.headers, rows=REGISTRY.numbered_rows
            )
            for kind, path in zip(REGISTRY.file_kinds, paths, strict=True)
            if path
        ]

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        from metaregistry_connectors.verra.tabular import read_table

        return REGISTRY.numbered_rows(read_table(path, REGISTRY.file_kinds, REGISTRY.label))

    def raw_schema_for(self, record: RawRecord) -> str | None:
        return KINDS.raw_schema(record)

    def normalize(self, record: RawRecord) -> UnitBlock:
        return KINDS.normalize(record)
