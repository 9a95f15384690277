"""Verra's search API record (``/uiapi/asset/asset/search``, DOMAIN.md's field list, with the
2026 platform's ``stateCode`` and Article 6 fields), one per block.

The record id is the serial: the search API has no row id, and a VCU block's serial is unique
in the registry (the verra connector reads it back the same way).
"""

from __future__ import annotations

from typing import Any

from metaregistry.mock.world.catalog import COUNTRY_NAMES
from metaregistry.mock.world.model import Block, iso

__all__ = ["path", "record", "record_id"]

_STATE = {"issued": "ISSUED", "retired": "RETIRED", "cancelled": "CANCELLED"}
_CA = {
    "not-required": "Not Required",
    "pending": "Pending",
    "applied": "Applied",
    "not-applied": "Not Applied",
}


def path(registry: str) -> str:
    return "verra/vcus.ndjson"


def record_id(block: Block, n: int) -> str:
    return block.serial


def record(block: Block) -> dict[str, Any]:
    project = block.project
    done = block.status in ("retired", "cancelled")
    retired = block.status == "retired"
    a6 = block.a6
    return {
        "issuanceDate": iso(block.issued_on),
        "instrumentType": "VCU",
        "vintageStart": f"{block.vintage}-01-01",
        "vintageEnd": f"{block.vintage}-12-31",
        "resourceIdentifier": str(project.number),
        "resourceName": project.name,
        "country": COUNTRY_NAMES.get(project.country, project.country),
        "protocolCategory": project.sector,
        "protocol": project.methodology,
        "totalVintageQuantity": f"{block.issuance_total or block.quantity:,}",
        "quantity": f"{block.quantity:,}",
        "serialNumbers": block.serial,
        "additionalCertifications": "",
        "retiredCancelled": done,
        "retireOrCancelDate": iso(block.status_on) if done and block.status_on else None,
        "retirementBeneficiary": "Undisclosed" if retired else None,
        "retirementReason": block.reason if retired else None,
        "retirementDetails": block.reason if retired else None,
        "stateCode": _STATE[block.status],
        "cancellation_purpose": block.reason if block.status == "cancelled" else None,
        "corresponding_adjustment_status": _CA[a6.ca] if a6 else None,
        "letter_of_auth_hcloa": a6.loa if a6 else None,
    }
