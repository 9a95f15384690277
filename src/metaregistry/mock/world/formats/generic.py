"""The ``generic`` connector's NDJSON: normalized field names, for registries outside the five
(token bridges, California's compliance registry, ACR, CAR, the CDM registry). Bridged and
moved blocks give ``scheme``, ``scope``, ``block_start``, ``block_end`` explicitly (their native
serial does not state the source numbering) and the source serial in ``origin``."""

from __future__ import annotations

from typing import Any

from metaregistry.mock.world.model import Block, iso

__all__ = ["path", "record", "record_id"]


def path(registry: str) -> str:
    return f"generic/{registry}.ndjson"


def record_id(block: Block, n: int) -> str:
    return f"{block.registry}-{n:09d}"


def record(block: Block) -> dict[str, Any]:
    out: dict[str, Any] = {
        "registry": block.registry,
        "record_id": block.record_id,
        "serial": block.serial,
        "scheme": block.scheme,
        "scope": block.scope,
        "block_start": block.start,
        "block_end": block.end,
        "quantity": block.quantity,
        "status": block.status,
        "project_id": block.project.code,
        "vintage_start": f"{block.vintage}-01-01",
        "vintage_end": f"{block.vintage}-12-31",
        "country": block.project.country,
    }
    if block.status_on is not None:
        out["status_date"] = iso(block.status_on)
    if block.reason:
        out["status_reason"] = block.reason
    if block.origin:
        out["origin"] = block.origin
    if block.numbering:
        out["numbering"] = block.numbering
    if block.cross_refs:
        out["cross_refs"] = block.cross_refs
    return out
