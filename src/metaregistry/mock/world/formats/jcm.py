"""A JCM ledger's holding record (connectors/metaregistry_connectors/jcm/README.md). The
registry slug ``jcm-<ledger>`` names the ledger; record ids are prefixed by its country."""

from __future__ import annotations

from typing import Any

from metaregistry.mock.world.model import Block, iso

__all__ = ["path", "record", "record_id"]

STATUS = {
    "issued": "holding",
    "retired": "retired",
    "cancelled": "cancelled",
    "transferred": "transferred",
    "pending": "pending",
}
PURPOSE = {"ndc": "NDC", "oimp": "OIMP", "ndc-and-oimp": "NDC+OIMP"}
CA = {
    "not-required": "not required",
    "pending": "pending",
    "applied": "applied",
    "not-applied": "not applied",
}
_PREFIX = {"japan": "JP", "indonesia": "ID", "thailand": "TH"}


def ledger_of(registry: str) -> str:
    return registry.removeprefix("jcm-")


def path(registry: str) -> str:
    return f"jcm/{ledger_of(registry)}.ndjson"


def record_id(block: Block, n: int) -> str:
    ledger = ledger_of(block.registry)
    return f"{_PREFIX.get(ledger, ledger.upper())}-{n:010d}"


def record(block: Block) -> dict[str, Any]:
    project = block.project
    a6 = block.a6
    return {
        "holding_id": block.record_id,
        "ledger": ledger_of(block.registry),
        "credit_serial": block.serial,
        "partner_country": project.country,
        "project_ref": project.code,
        "project_title": project.name,
        "methodology": project.methodology,
        "vintage": block.vintage,
        "issuance_no": block.scope.rpartition("-")[2],
        "issuance_total": block.issuance_total,
        "quantity": block.quantity,
        "holding_status": STATUS[block.status],
        "status_date": iso(block.status_on) if block.status_on else None,
        "status_note": block.reason,
        "counterpart_ledger": block.counterpart,
        "origin_serial": block.origin,
        "authorization": (
            {
                "loa_ref": a6.loa,
                "purpose": PURPOSE[a6.purpose],
                "authorized_by": ["JP", project.country],
            }
            if a6
            else None
        ),
        "itmo_id": a6.itmo if a6 else None,
        "first_transfer_date": iso(a6.first_transfer_on) if a6 and a6.first_transfer_on else None,
        "ca_status": CA[a6.ca] if a6 else None,
    }
