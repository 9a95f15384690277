"""Cercarbono (EcoRegistry) records to unit blocks: one normalization for files and the API.

Issuances (a serial, a quantity, a buffer flag) state no unit positions: the block is a
quantity of its own batch, numbered 1..quantity and marked *not numbered*, so it never takes
part in range comparison (EcoRegistry counts positions from 0 in its oldest batches and from
1 in the others; an issuance row does not say which). Retirement rows of the export carry the
positions (``from``/``to``): those blocks are numbered, scheme ``cercarbono``, scope the batch
serial (:mod:`metaregistry.serials.cercarbono`). API retirements carry no positions and are
quantity-only like issuances.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from metaregistry.connector import RecordError
from metaregistry.model import OWN_NUMBERING, Status, UnitBlock
from metaregistry.serials import SerialError
from metaregistry.serials.cercarbono import CdcBatch, parse_cdc_batch, parse_cdc_columns
from metaregistry_connectors.verra.values import cell, day, join_reason, quantity

__all__ = ["REGISTRY", "SCHEME", "issuance_block", "retirement_block"]

REGISTRY: Final = "cercarbono"
SCHEME: Final = "cercarbono"
#: Values EcoRegistry prints for "no value" (treated as blank).
_BLANK: Final = frozenset({"", "not defined", "no definido/not defined", "none", "null"})
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no", ""})


def _text(payload: Mapping[str, Any], key: str) -> str:
    text = cell(payload, key)
    return "" if text.lower() in _BLANK else text


def _batch(payload: Mapping[str, Any]) -> tuple[str, CdcBatch]:
    serial = cell(payload, "serial")
    if not serial:
        raise RecordError("is empty", field="serial", value=payload.get("serial"))
    try:
        return serial, parse_cdc_batch(serial)
    except SerialError as exc:
        raise RecordError(
            f"cannot parse serial: {exc.reason}", field="serial", value=serial
        ) from exc


def _flag(payload: Mapping[str, Any], key: str) -> bool:
    word = cell(payload, key).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise RecordError("is not true or false", field=key, value=payload.get(key))


def _period(payload: Mapping[str, Any], key: str) -> tuple[str | None, str | None]:
    """``2010-01-01 / 2018-09-30`` (the issuance's vintage of credits)."""
    text = cell(payload, key)
    if not text:
        return None, None
    first, slash, last = text.partition("/")
    if not slash:
        raise RecordError("is not a period 'start / end'", field=key, value=text)
    return day(first.strip(), key), day(last.strip(), key)


def issuance_block(payload: Mapping[str, Any]) -> UnitBlock:
    """An issued serial (export row or an ``analytics/projects`` serial object)."""
    serial, batch = _batch(payload)
    units = quantity(payload.get("issued_quantity"), "issued_quantity")
    buffer = _flag(payload, "is_buffer")
    if buffer != batch.buffer:
        raise RecordError(
            f"says {'' if buffer else 'not '}buffer, the serial says the opposite",
            field="is_buffer",
            value=payload.get("is_buffer"),
        )
    start, end = _period(payload, "vintage_of_credits")
    return UnitBlock(
        registry=REGISTRY,
        record_id=serial,
        serial=serial,
        scheme=SCHEME,
        scope=serial,
        block_start=1,
        block_end=units,
        quantity=units,
        project_id=batch.project_id,
        vintage_start=start,
        vintage_end=end,
        country=batch.country,
        status=(Status.BUFFER if buffer else Status.ISSUED).value,
        status_date=day(payload.get("issuance_date"), "issuance_date"),
        numbering=OWN_NUMBERING,
    )


def retirement_block(payload: Mapping[str, Any]) -> UnitBlock:
    """A retirement: an export row with ``from``/``to`` positions (numbered), or an
    ``analytics/get-retirements`` record with an ``id`` and no positions (quantity only)."""
    serial, batch = _batch(payload)
    if payload.get("is_kg") not in (None, "", 0, "0", False):
        # The platform has kg-denominated retirements; a kg amount is no whole number of
        # tonnes, so it cannot be a block of units.
        raise RecordError("is in kilograms, not tonnes", field="is_kg", value=payload["is_kg"])
    units = quantity(payload.get("quantity"), "quantity")
    first, last = cell(payload, "from"), cell(payload, "to")
    if first or last:
        try:
            positioned, parsed = parse_cdc_columns(serial, first, last, units)
        except SerialError as exc:
            field = exc.field if exc.field in ("quantity",) else "from/to"
            raise RecordError(exc.reason, field=field, value=f"{first}-{last}") from exc
        record_id, start, end = positioned, parsed.block_start, parsed.block_end
        own = False
    else:
        ident = cell(payload, "id")
        if not ident:
            raise RecordError("a retirement needs from/to positions or an id", field="id")
        record_id, start, end = f"{serial} retirement {ident}", 1, units
        own = True
    project = cell(payload, "project_id")
    if project and project != batch.project:
        raise RecordError(
            f"names project {project}, the serial project {batch.project}",
            field="project_id",
            value=project,
        )
    destination = _text(payload, "certificate_destination") or _reason_using(payload)
    reason = join_reason(
        (
            ("certificate destination", destination),
            ("end user", _text(payload, "end_user") or _text(payload, "final_user")),
            ("passive subject", _text(payload, "passive_subject")),
        )
    )
    return UnitBlock(
        registry=REGISTRY,
        record_id=record_id,
        serial=serial,
        scheme=SCHEME,
        scope=serial,
        block_start=start,
        block_end=end,
        quantity=units,
        project_id=batch.project_id,
        country=batch.country,
        status=Status.RETIRED.value,
        status_reason=reason,
        status_date=day(payload.get("date"), "date"),
        numbering=OWN_NUMBERING if own else None,
    )


def _reason_using(payload: Mapping[str, Any]) -> str:
    using = payload.get("reason_using")
    if isinstance(using, Mapping):
        return _text(using, "description")
    return ""
