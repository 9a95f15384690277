"""The ``car`` connector: Climate Action Reserve's public reports (issuances, retirements,
cancellations), from export files or downloaded from the registry's site. See README.md."""

from __future__ import annotations

from typing import ClassVar, Final

import pydantic

from metaregistry.connector import ConnectorOptions
from metaregistry.model import Status
from metaregistry_connectors.apx.connector import ReportConnector, ReportOptions
from metaregistry_connectors.apx.tables import IssuanceColumns, Registry, UnitColumns

__all__ = ["REGISTRY", "CarConnector", "CarOptions"]

REGISTRY: Final = Registry(
    slug="car",
    label="Climate Action Reserve",
    scheme="car",
    issuances=IssuanceColumns(
        quantity="Total Offset Credits Issued",
        project="Project ID",
        vintage="Vintage",
        date="Date Issued",
        period=None,
        country="Project Site Country",
        extra_key=("Cooperative/ Aggregate ID",),
        required=frozenset(("Total Offset Credits Issued", "Project ID", "Vintage", "Date Issued")),
    ),
    retirements=UnitColumns(
        serial="Offset Credit Serial Numbers",
        quantity="Quantity of Offset Credits",
        date="Status Effective",
        project="Project ID",
        reasons=(("reason", "Retirement Reason"), ("details", "Retirement Reason Details")),
        required=frozenset(
            ("Offset Credit Serial Numbers", "Quantity of Offset Credits", "Retirement Reason")
        ),
    ),
    cancellations=UnitColumns(
        serial="Offset Credit Serial Numbers",
        quantity="Quantity of Offset Credits",
        date="Status Effective",
        project="Project ID",
        reasons=(("reason", "Cancellation Reason"), ("notes", "Export Notes")),
        required=frozenset(
            ("Offset Credit Serial Numbers", "Quantity of Offset Credits", "Cancellation Reason")
        ),
        status=Status.CANCELLED.value,
    ),
    schemas={
        "issuances": "raw/car/issuances.schema.json",
        "retirements": "raw/car/retirements.schema.json",
        "cancellations": "raw/car/cancellations.schema.json",
    },
)


class CarOptions(ReportOptions):
    """``[connectors.car]`` options: where the registry's public reports are served
    (paths under ``base_url``; an empty path skips that report)."""

    issuances_path: str = pydantic.Field(
        "/myModule/rpt/myrpt.asp?r=112",
        description="the 'Project Offset Credits Issued' report (r=112, confirmed, see README)",
    )
    retirements_path: str = pydantic.Field(
        "/myModule/rpt/myrpt.asp?r=206",
        description="the 'Retired Offset Credits' report (r=206, confirmed, see README)",
    )
    cancellations_path: str = pydantic.Field(
        "/myModule/rpt/myrpt.asp?r=308",
        description="the 'Canceled Offset Credits' report (r=308, confirmed, see README)",
    )


class CarConnector(ReportConnector):
    """Climate Action Reserve: issuances (quantities per project and vintage, never range compared),
    retirements and cancellations (serial ranges). Files: ``metaregistry import car
    FILE...`` (CSV or XLSX, the kind read from the header row). Streams: the three public
    reports, each one snapshot page."""

    name: ClassVar[str] = "car"
    registries: ClassVar[tuple[str, ...]] = ("car",)
    description: ClassVar[str] = "Climate Action Reserve: issuances, retirements, cancellations"
    default_base_url: ClassVar[str | None] = "https://thereserve2.apx.com"
    options_model: ClassVar[type[ConnectorOptions]] = CarOptions
    registry: ClassVar[Registry] = REGISTRY
