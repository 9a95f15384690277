"""ACR's and CAR's public reports, as their APX sites publish them (and CarbonPlan's OffsetsDB
copies them): three CSV files a registry, ``issuances.csv``, ``retirements.csv`` and
``cancellations.csv``, with the real reports' header rows (the columns of the ``acr`` and
``car`` connectors' READMEs).

A live (``issued``) block is an issuance row: a quantity of a project and vintage with no unit
numbers, which the connector stores with a numbering of its own and never compares by range.
A retired or cancelled block is a row of its report with the serial range
(``ACR-US-1185-2025-3078-1 to 85847``), compared like any serial.

Record ids, as the connector reads them back: a retirement or cancellation is its serial; an
issuance row ``issuance <project> <vintage> [<period>] <date> [<aggregate>]``, and rows equal
in all of these get `` #2``, `` #3`` in file order (the writer counts them, see
``REPEATS``).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Final

from metaregistry.mock.world.model import Block, iso

__all__ = ["REPEATS", "header", "path", "path_of", "record", "record_id"]

#: Issuance rows equal in every identifying column are told apart by their order in the file.
REPEATS: Final = True

_KIND: Final = {"issued": "issuances", "retired": "retirements", "cancelled": "cancellations"}

# The real reports' header rows (pandas' trailing "Unnamed: N" column left out).
_HEADERS: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("acr", "issuances"): (
        "Date Issued (GMT)", "Vintage", "ReportingPeriodBegin", "ReportingPeriodEnd",
        "Total Credits Issued", "Credits Issued to Project", "Credits Issued to Buffer Pool",
        "Credits Transferred to Buffer Pool", "Project Developer", "Project ID", "Project Name",
        "Project Type", "Project Methodology/Protocol", "Methodology/Protocol Version",
        "Project VVB", "Project Site Location", "Project Site State", "Project Site Country",
        "ARB Eligible", "Ecology Eligible", "CCP Approved",
        "Project Crediting Period Start Date", "Verified Removal",
        "Sustainable Development Goal(s)", "Project Website", "Documents",
    ),
    ("acr", "retirements"): (
        "fiid", "Credit Serial Numbers", "Date Issued (GMT)", "Vintage",
        "Vintage Assignment Period Start Date", "Vintage Assignment Period End Date",
        "Quantity of Credits", "Account Holder", "Status Effective (GMT)",
        "Retired on Behalf of", "Retirement Reason", "Purpose of Retirement", "Project ID",
        "Project Name", "Project Type", "Project Methodology/Protocol",
        "Methodology/Protocol Version", "Project Site Location", "Project Site State",
        "Project Site Country", "ARB Eligible", "Ecology Eligible", "CORSIA Eligible",
        "Eligible for CORSIA 2021-2023 Compliance Period (Pilot Phase)",
        "Eligible for CORSIA 2024-2026 Compliance Period (First Phase)", "CCP Approved",
        "Verified Removal", "Sustainable Development Goal(s)", "Project Website", "Documents",
        "Numberoffiles",
    ),
    ("acr", "cancellations"): (
        "Credit Serial Numbers", "Date Issued (GMT)", "Vintage",
        "Vintage Assignment Period Start Date", "Vintage Assignment Period End Date",
        "Quantity of Credits", "Account Holder", "ahID", "Status Effective  (GMT)",
        "Cancellation Type", "Project ID", "Project Name", "Project Type",
        "Project Methodology/Protocol", "Methodology/Protocol Version", "Project Site Location",
        "Project Site State", "Project Site Country", "ARB Eligible", "Ecology Eligible",
        "CORSIA Eligible", "Eligible for CORSIA 2021-2023 Compliance Period (Pilot Phase)",
        "Eligible for CORSIA 2024-2026 Compliance Period (First Phase)", "CCP Approved",
        "Verified Removal", "Sustainable Development Goal(s)", "Project Website", "Documents",
        "Cancellation Details", "fiid", "Numberoffiles",
    ),
    ("car", "issuances"): (
        "Date Issued", "Project ID", "Cooperative/ Aggregate ID", "Project Name",
        "Project Developer", "Project Owner", "Project Type", "Reduction/Removal",
        "Reversible/Non-Reversible", "Protocol and Version", "ARB Eligible", "WA ECO Eligible",
        "Eligible for CORSIA 2021-2023 Compliance Period",
        "Eligible for CORSIA 2024-2026 Compliance Period", "Corresponding Adjustment",
        "CCP Approved", "Crediting Period", "Vintage", "Total Offset Credits Issued",
        "Zero-Credit Reporting Period", "Offset Credits Currently in Reserve Buffer Pool",
        "Offset Credits Intended for Compliance Buffer Pool", "Offset Credits Converted to VCUs",
        "Canceled for Compliance", "Canceled", "Project Site Location", "Project Site State",
        "Project Site Country", "Activity Area Type", "Additional Certification(s)",
        "Verification Body", "Project Website", "Documents",
    ),
    ("car", "retirements"): (
        "Vintage", "Offset Credit Serial Numbers", "Quantity of Offset Credits",
        "Status Effective", "Project ID", "Project Name", "Project Type", "Reduction/Removal",
        "Reversible/Non-Reversible", "Protocol and Version", "Project Site Location",
        "Project Site State", "Project Site Country", "Activity Area Type",
        "Additional Certification(s)", "Eligible for CORSIA 2021-2023 Compliance Period",
        "Eligible for CORSIA 2024-2026 Compliance Period", "Corresponding Adjustment",
        "CCP Approved", "Account Holder", "Retirement Reason", "Retirement Reason Details",
    ),
    ("car", "cancellations"): (
        "Vintage", "Offset Credit Serial Numbers", "Quantity of Offset Credits",
        "Status Effective", "Project ID", "Project Name", "Project Type", "Reduction/Removal",
        "Reversible/Non-Reversible", "Protocol and Version", "Project Site Location",
        "Project Site State", "Project Site Country", "Additional Certification(s)",
        "Cancellation Reason", "Export Notes",
    ),
}  # fmt: skip


def path(registry: str) -> str:
    return f"{registry}/issuances.csv"


def path_of(block: Block) -> str | None:
    """The report a block is a row of; None for a record no public report lists by serial (a
    transfer between accounts; a live block a serial-level case needs, ``Block.generic``):
    the writer puts such a record in the generic format."""
    kind = _KIND.get(block.status)
    return None if kind is None or block.generic else f"{block.registry}/{kind}.csv"


def header(relative: str) -> tuple[str, ...]:
    registry, _, name = relative.partition("/")
    return _HEADERS[(registry, name.removesuffix(".csv"))]


@functools.cache
def _us_date(day: int, with_time: bool) -> str:
    date = dt.date.fromordinal(day)
    if with_time:
        return f"{date.month}/{date.day}/{date.year} 12:00:00 PM"
    return f"{date.month:02d}/{date.day:02d}/{date.year}"


def record_id(block: Block, n: int) -> str:
    if block.status != "issued":
        return block.serial
    day = iso(block.issued_on)
    if block.registry == "acr":
        period = f"{block.vintage}-01-01..{block.vintage}-12-31"
        return f"issuance {block.project.code} {block.vintage} {period} {day}"
    return f"issuance {block.project.code} {block.vintage} {day}"


def record(block: Block) -> dict[str, Any]:
    project = block.project
    acr = block.registry == "acr"
    common = {
        "Project ID": project.code,
        "Project Name": project.name,
        "Project Type": project.sector,
        "Project Site State": project.region,
        "Project Site Country": project.country,
    }
    if block.status == "issued":
        issued = _us_date(block.issued_on, acr)
        if acr:
            return {
                **common,
                "Date Issued (GMT)": issued,
                "Vintage": str(block.vintage),
                "ReportingPeriodBegin": f"1/1/{block.vintage}",
                "ReportingPeriodEnd": f"12/31/{block.vintage}",
                "Total Credits Issued": str(block.quantity),
                "Credits Issued to Project": str(block.quantity),
                "Credits Issued to Buffer Pool": "0",
                "Credits Transferred to Buffer Pool": "0",
                "Project Methodology/Protocol": project.methodology,
            }
        return {
            **common,
            "Date Issued": issued,
            "Vintage": str(block.vintage),
            "Total Offset Credits Issued": str(block.quantity),
            "Protocol and Version": project.methodology,
        }
    effective = _us_date(block.status_on or block.issued_on, acr)
    reason = block.reason or ""
    if acr:
        out = {
            **common,
            "Credit Serial Numbers": block.serial,
            "Date Issued (GMT)": _us_date(block.issued_on, True),
            "Vintage": str(block.vintage),
            "Quantity of Credits": str(block.quantity),
            "Project Methodology/Protocol": project.methodology,
        }
        if block.status == "retired":
            return {**out, "Status Effective (GMT)": effective, "Retirement Reason": reason}
        return {**out, "Status Effective  (GMT)": effective, "Cancellation Type": reason}
    out = {
        **common,
        "Vintage": str(block.vintage),
        "Offset Credit Serial Numbers": block.serial,
        "Quantity of Offset Credits": str(block.quantity),
        "Status Effective": effective,
        "Protocol and Version": project.methodology,
    }
    if block.status == "retired":
        return {**out, "Retirement Reason": reason}
    return {**out, "Cancellation Reason": reason}
