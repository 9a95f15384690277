"""The ``acr`` connector: American Carbon Registry's public reports (issuances, retirements,
cancellations), from export files or downloaded from the registry's site. See README.md."""

from __future__ import annotations

from typing import ClassVar, Final

import pydantic

from metaregistry.connector import ConnectorOptions
from metaregistry.model import Status
from metaregistry_connectors.apx.connector import ReportConnector, ReportOptions
from metaregistry_connectors.apx.tables import IssuanceColumns, Registry, UnitColumns

__all__ = ["REGISTRY", "AcrConnector", "AcrOptions"]

REGISTRY: Final = Registry(
    slug="acr",
    label="American Carbon Registry",
    scheme="acr",
    issuances=IssuanceColumns(
        quantity="Total Credits Issued",
        project="Project ID",
        vintage="Vintage",
        date="Date Issued (GMT)",
        period=("ReportingPeriodBegin", "ReportingPeriodEnd"),
        country="Project Site Country",
        extra_key=(),
        required=frozenset(("Total Credits Issued", "Project ID", "Vintage", "Date Issued (GMT)")),
    ),
    retirements=UnitColumns(
        serial="Credit Serial Numbers",
        quantity="Quantity of Credits",
        date="Status Effective (GMT)",
        project="Project ID",
        reasons=(
            ("reason", "Retirement Reason"),
            ("purpose", "Purpose of Retirement"),
            ("on behalf of", "Retired on Behalf of"),
        ),
        required=frozenset(("Credit Serial Numbers", "Quantity of Credits", "Retirement Reason")),
    ),
    cancellations=UnitColumns(
        serial="Credit Serial Numbers",
        quantity="Quantity of Credits",
        date="Status Effective  (GMT)",
        project="Project ID",
        reasons=(("cancellation type", "Cancellation Type"), ("details", "Cancellation Details")),
        required=frozenset(("Credit Serial Numbers", "Quantity of Credits", "Cancellation Type")),
        status=Status.CANCELLED.value,
    ),
    schemas={
        "issuances": "raw/acr/issuances.schema.json",
        "retirements": "raw/acr/retirements.schema.json",
        "cancellations": "raw/acr/cancellations.schema.json",
    },
)


class AcrOptions(ReportOptions):
    """``[connectors.acr]`` options: where the registry's public reports are served
    (paths under ``base_url``; an empty path skips that report)."""

    issuances_path: str = pydantic.Field(
        "/myModule/rpt/myrpt.asp?r=112",
        description="the 'Credits Issued' report (r=112, see README: ACR has left APX)",
    )
    retirements_path: str = pydantic.Field(
        "/myModule/rpt/myrpt.asp?r=206",
        description="the 'Credits Retired' report (r=206, see README: ACR has left APX)",
    )
    cancellations_path: str = pydantic.Field(
        "/myModule/rpt/myrpt.asp?r=308",
        description="the cancellations report (r=308 assumed, see README: ACR has left APX)",
    )


class AcrConnector(ReportConnector):
    """American Carbon Registry: issuances (quantities per project and vintage, never range
    compared), retirements and cancellations (serial ranges). Files: ``metaregistry import acr
    FILE...`` (CSV or XLSX, the kind read from the header row). Streams: the three public
    reports, each one snapshot page."""

    name: ClassVar[str] = "acr"
    registries: ClassVar[tuple[str, ...]] = ("acr",)
    description: ClassVar[str] = "American Carbon Registry: issuances, retirements, cancellations"
    default_base_url: ClassVar[str | None] = "https://acr2.apx.com"
    options_model: ClassVar[type[ConnectorOptions]] = AcrOptions
    registry: ClassVar[Registry] = REGISTRY
