"""CARB's ARB Offset Credit Issuance Table (the ``carb`` connector, the columns of
``carb-arboc-issuance/arboc_issuance_table_2024-11-27.csv``): one row an issuance, under
CARB's own id (``CAMM5123-B``), a quantity per project and vintage with no unit numbers, the
OPR project it was issued for in ``OPR Project ID`` and, where a second OPR project is
involved (a registry move), that one named in ``Comment`` ("the OPR ID# is ACR258").

Only records of quantities (``numbering: own``, the project-level cases) are rows of the
table. A CARB block numbered in its source's scheme (the serial-level compliance-move and
quantity-mismatch cases) states what CARB's table never does: ``path_of`` gives None and the
writer puts it in the generic format.
"""

from __future__ import annotations

from typing import Any, Final

from metaregistry.mock.world.model import Block, iso

__all__ = ["HEADER", "header", "path", "path_of", "record", "record_id"]

HEADER: Final = (
    "CARB Issuance ID", "OPR Project ID", "Project Type", "Early Action/ Compliance",
    "Reporting Period Start Date", "Reporting Period End Date", "Vintage",
    "ARB Offset Credits Issued", "Forest Buffer Account Contribution", "Issuance Date",
    "Invalidation Timeframe", "Date Invalidation Period Reduced",
    "Start of Invalidation Timeframe", "Offset Project Name", "Offset Project Operator",
    "Verification Body", "State", "Provides DEBS",
    "Section 95989(b) Documentation, if applicable", "Project Documentation",
    "Buffer Pool Retired", "Retired for Intentional Reversal", "Retired Voluntarily",
    "Retired 1st Compliance Period (CA)", "Retired 2nd Compliance Period (CA)",
    "Retired 3rd Compliance Period (CA)", "Retired 4th Compliance Period (CA)",
    "Retired for Compliance in Quebec", "Comment",
)  # fmt: skip

_TABLE: Final = "carb/arboc_issuance_table.csv"


def path(registry: str) -> str:
    return _TABLE


def path_of(block: Block) -> str | None:
    return _TABLE if block.numbering == "own" else None


def header(relative: str) -> tuple[str, ...]:
    return HEADER


def record_id(block: Block, n: int) -> str:
    return block.serial


def _opr(cross_refs: str | None) -> tuple[str, list[str]]:
    """The OPR project (``opr_project=acr:ACR1051``) and those a comment names."""
    first, others = "", []
    for ref in (cross_refs or "").split(";"):
        name, _, target = ref.strip().partition("=")
        code = target.partition(":")[2]
        if name == "opr_project":
            first = code
        elif name == "opr_project_comment":
            others.append(code)
    return first, others


def record(block: Block) -> dict[str, Any]:
    opr, mentioned = _opr(block.cross_refs)
    return {
        "CARB Issuance ID": block.serial,
        "OPR Project ID": opr,
        "Project Type": "MMC",
        "Early Action/ Compliance": "COP",
        "Reporting Period Start Date": f"{block.vintage}-01-01",
        "Reporting Period End Date": f"{block.vintage}-12-31",
        "Vintage": str(block.vintage),
        "ARB Offset Credits Issued": str(block.quantity),
        "Forest Buffer Account Contribution": "n/a",
        "Issuance Date": iso(block.issued_on),
        "Offset Project Name": block.project.name,
        "State": block.project.region.rpartition("-")[2],
        "Comment": "; ".join(f"the OPR ID# is {code}" for code in mentioned) or "n/a",
    }
