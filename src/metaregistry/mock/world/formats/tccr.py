"""TCCR's credit record (connectors/metaregistry_connectors/tccr/README.md): Buddhist-era
vintage and dates, Article 6 fields flat (the CSV export has the same columns)."""

from __future__ import annotations

from typing import Any

from metaregistry.mock.world.model import Block, dmy, iso

__all__ = ["path", "record", "record_id"]

BE = 543
STATUS = {
    "issued": "Active",
    "retired": "Retired",
    "cancelled": "Cancelled",
    "transferred": "Transferred",
    "pending": "Pending",
    "expired": "Expired",
}
PURPOSE = {"ndc": "NDC", "oimp": "OIMP", "ndc-and-oimp": "NDC+OIMP"}
CA = {
    "not-required": "Not required",
    "pending": "Pending",
    "applied": "Applied",
    "not-applied": "Not applied",
}


def path(registry: str) -> str:
    return "tccr/tver-credits.ndjson"


def record_id(block: Block, n: int) -> str:
    return f"TC-{n:09d}"


def record(block: Block) -> dict[str, Any]:
    project = block.project
    a6 = block.a6
    return {
        "credit_id": block.record_id,
        "serial_no": block.serial,
        "credit_type": "Premium T-VER" if project.sector == "premium" else "Standard T-VER",
        "project_code": project.code,
        "project_name_en": project.name,
        "province": project.region,
        "vintage_be": block.vintage + BE,
        "volume_tco2e": block.quantity,
        "credit_status": STATUS[block.status],
        "issue_date_be": dmy(block.issued_on, BE),
        "status_date_be": dmy(block.status_on, BE) if block.status_on else None,
        "status_remark": block.reason,
        "a6_authorization_no": a6.loa if a6 else None,
        "a6_authorized_use": PURPOSE[a6.purpose] if a6 else None,
        "a6_itmo_id": a6.itmo if a6 else None,
        "a6_first_transfer_date": iso(a6.first_transfer_on)
        if a6 and a6.first_transfer_on
        else None,
        "a6_acquiring_party": a6.acquiring_party if a6 else None,
        "a6_ca_status": CA[a6.ca] if a6 else None,
    }
