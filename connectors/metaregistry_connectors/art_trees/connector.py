"""The ``art-trees`` connector: ART TREES's public reports (issuances, retirements,
cancellations), from export files or downloaded from the registry's site. See README.md."""

from __future__ import annotations

from typing import ClassVar, Final

import pydantic

from metaregistry.connector import ConnectorOptions
from metaregistry.model import Status
from metaregistry_connectors.apx.connector import ReportConnector, ReportOptions
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


class ArtTreesOptions(ReportOptions):
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


class ArtTreesConnector(ReportConnector):
    """ART TREES: issuances (quantities per project and vintage, never range compared),
    retirements and cancellations (serial ranges). Files: ``metaregistry import art-trees
    FILE...`` (CSV or XLSX, the kind read from the header row). Streams: the three public
    reports, each one snapshot page."""

    name: ClassVar[str] = "art-trees"
    registries: ClassVar[tuple[str, ...]] = ("art-trees",)
    description: ClassVar[str] = "ART TREES: issuances, retirements, cancellations"
    default_base_url: ClassVar[str | None] = "https://art.apx.com"
    options_model: ClassVar[type[ConnectorOptions]] = ArtTreesOptions
    registry: ClassVar[Registry] = REGISTRY
