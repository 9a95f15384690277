"""Gold Standard's public API credit record (``GET /credits``, DOMAIN.md): ``id``,
``number_of_credits``, ``serial_number``, ``vintage``, ``status`` (current state),
``certified_date``, ``product``, ``labels`` and the embedded ``project``; ``retirement_date``
and ``note`` on retired and cancelled credits, as the GS exports carry them.

The record id is the gold-standard connector's: the list the record comes from (the API's
issued credits or its retired ones) and the serial, ``issuance:<serial>`` or
``retirement:<serial>``."""

from __future__ import annotations

from typing import Any

from metaregistry.mock.world.model import Block, iso

__all__ = ["path", "record", "record_id"]

_STATUS = {"issued": "ISSUED", "retired": "RETIRED", "cancelled": "CANCELLED"}


def path(registry: str) -> str:
    return "gold-standard/credits.ndjson"


def record_id(block: Block, n: int) -> str:
    listing = "issuance" if block.status == "issued" else "retirement"
    return f"{listing}:{block.serial}"


def record(block: Block) -> dict[str, Any]:
    project = block.project
    return {
        "id": block.number,
        "number_of_credits": block.quantity,
        "serial_number": block.serial,
        "vintage": block.vintage,
        "status": _STATUS[block.status],
        "certified_date": iso(block.issued_on),
        "product": block.product or "VER",
        "labels": ["Emission Reduction"],
        "retirement_date": iso(block.status_on) if block.status_on else None,
        "note": block.reason,
        "project": {
            "sustaincert_id": project.number,
            "name": project.name,
            "country_code": project.country,
            "type": project.sector,
            "methodology": project.methodology,
        },
    }
