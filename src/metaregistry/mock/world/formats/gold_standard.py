"""Gold Standard's public API credit record (``GET /credits``, DOMAIN.md): ``id``,
``number_of_credits``, ``serial_number``, ``vintage``, ``status`` (current state),
``certified_date``, ``product``, ``labels`` and the embedded ``project``. ``note`` carries the
retirement or cancellation note as GS exports do. The record id is ``id`` as text."""

from __future__ import annotations

from typing import Any

from metaregistry.mock.world.model import Block, iso

__all__ = ["path", "record", "record_id"]

_STATUS = {"issued": "ISSUED", "retired": "RETIRED", "cancelled": "CANCELLED"}


def path(registry: str) -> str:
    return "gold-standard/credits.ndjson"


def record_id(block: Block, n: int) -> str:
    return str(n)


def record(block: Block) -> dict[str, Any]:
    project = block.project
    return {
        "id": int(block.record_id),
        "number_of_credits": block.quantity,
        "serial_number": block.serial,
        "vintage": block.vintage,
        "status": _STATUS[block.status],
        "certified_date": iso(block.issued_on),
        "product": block.product or "VER",
        "labels": ["Emission Reduction"],
        "note": block.reason,
        "project": {
            "sustaincert_id": project.number,
            "name": project.name,
            "country_code": project.country,
            "type": project.sector,
            "methodology": project.methodology,
        },
    }
