"""Where each fact sits in Verra's two shapes of the same record: kept as data.

Verra publishes one block record through its search API (JSON, camelCase) and through its
web export (CSV/XLSX, title-case columns: the columns of
``carbonplan-offsetsdb/verra/transactions.csv``). Both are read through one
:class:`TransactionFields` map into the same normalization, so the same facts give the same
record hash whichever path brought them. The 2026 platform fields (state, corresponding
adjustment, letter of authorization, cancellation purpose) are listed under every name seen
or announced; the first one present wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from metaregistry_connectors.verra.tabular import FileKind

__all__ = [
    "FILE_KINDS",
    "HOLDINGS",
    "HOLDINGS_KIND",
    "SEARCH",
    "TRANSACTIONS",
    "TRANSACTIONS_KIND",
    "HoldingsFields",
    "TransactionFields",
]


@dataclass(frozen=True, slots=True)
class TransactionFields:
    """Field names of one shape of a Verra block record."""

    serial: str
    quantity: str
    issued_on: str
    vintage_start: str
    vintage_end: str
    project: str
    ended_on: str  # retirement or cancellation date
    beneficiary: str
    reason: str
    details: str
    certifications: str
    retired_cancelled: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    corresponding_adjustment: tuple[str, ...] = ()
    authorization: tuple[str, ...] = ()
    cancellation_purpose: tuple[str, ...] = ()


#: The search API (``POST /uiapi/asset/asset/search``), as DOMAIN.md lists its fields.
SEARCH: Final = TransactionFields(
    serial="serialNumbers",
    quantity="quantity",
    issued_on="issuanceDate",
    vintage_start="vintageStart",
    vintage_end="vintageEnd",
    project="resourceIdentifier",
    ended_on="retireOrCancelDate",
    beneficiary="retirementBeneficiary",
    reason="retirementReason",
    details="retirementDetails",
    certifications="additionalCertifications",
    retired_cancelled=("retiredCancelled",),
    state=("stateCode",),
    corresponding_adjustment=("corresponding_adjustment_status", "correspondingAdjustmentStatus"),
    authorization=("letter_of_auth_hcloa", "letterOfAuthHcloa"),
    cancellation_purpose=("cancellation_purpose", "cancellationPurpose"),
)

#: The web export (CSV or XLSX) of VCU issuances, retirements and cancellations.
TRANSACTIONS: Final = TransactionFields(
    serial="Serial Number",
    quantity="Quantity Issued",
    issued_on="Issuance Date",
    vintage_start="Vintage Start",
    vintage_end="Vintage End",
    project="ID",
    ended_on="Retirement/Cancellation Date",
    beneficiary="Retirement Beneficiary",
    reason="Retirement Reason",
    details="Retirement Details",
    certifications="Additional Certifications",
    state=("State Code", "stateCode"),
    corresponding_adjustment=(
        "Corresponding Adjustment Status",
        "Corresponding Adjustment",
        "corresponding_adjustment_status",
    ),
    authorization=(
        "Letter of Authorization",
        "Letter of Authorization (HCLoA)",
        "HCLoA",
        "letter_of_auth_hcloa",
    ),
    cancellation_purpose=("Cancellation Purpose", "cancellation_purpose"),
)


@dataclass(frozen=True, slots=True)
class HoldingsFields:
    """Columns of the sub-account holdings report (``moss-mco2-verra``)."""

    serial: str = "Serial Number"
    quantity: str = "Quantity of Credits"
    vintage: str = "Vintage"  # "01/07/2014-31/12/2014", day-first
    project: str = "Project ID"
    account_id: str = "Sub-Account ID"
    account_name: str = "Sub-Account Name"


HOLDINGS: Final = HoldingsFields()

TRANSACTIONS_KIND: Final = FileKind(
    "transactions",
    frozenset({TRANSACTIONS.serial, TRANSACTIONS.quantity, TRANSACTIONS.ended_on}),
)
HOLDINGS_KIND: Final = FileKind(
    "holdings", frozenset({HOLDINGS.serial, HOLDINGS.quantity, HOLDINGS.account_id})
)
FILE_KINDS: Final = (TRANSACTIONS_KIND, HOLDINGS_KIND)
