"""Regen Ledger credit batches to unit blocks.

A C01 batch was issued on Regen Ledger from Verra VCUs that were retired on Verra for it
("retire and re-issue"); its metadata names the Verra retirement serial
(``regen:vcsRetirementSerialNumber``). Such a block is numbered in the credits' own scheme,
the Verra serial's (``vcs``, scope ``legacy`` for the Markit/APX serials of the sample), so
detection compares it with Verra's records of the same units; ``origin`` is that serial,
``serial`` and ``record_id`` the batch denom. Regen credits are fungible inside a batch and
have no numbers of their own.

A batch read from the ledger API (``/regen/ecocredit/v1/batches``) carries only its metadata
IRI, not the Verra serial: it is a quantity of its own (tradable + retired + cancelled from
the batch supply), not numbered, and never compared by range, unless the stream resolved its
metadata document: then it is numbered by the Verra serial, like a table row.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from metaregistry.connector import RecordError
from metaregistry.model import Status, UnitBlock, references_text
from metaregistry.serials import SerialError, parse_serial
from metaregistry.serials.regen import RegenDenom, parse_regen_denom
from metaregistry_connectors.verra.values import cell, day, join_reason, quantity

__all__ = ["REGISTRY", "api_batch_block", "file_batch_block"]

REGISTRY: Final = "regen"
SCHEME: Final = "regen"


def _denom(payload: Mapping[str, Any], field: str) -> RegenDenom:
    text = cell(payload, field)
    if not text:
        raise RecordError("is empty", field=field, value=payload.get(field))
    try:
        return parse_regen_denom(text)
    except SerialError as exc:
        raise RecordError(f"is not a batch denom: {exc.reason}", field=field, value=text) from exc


def file_batch_block(payload: Mapping[str, Any]) -> UnitBlock:
    """A row of the C01 batch table: the denom and the Verra retirement serial it came from."""
    denom = _denom(payload, "regen_batch_metadata_file")
    field = "vcs_retirement_serial_number"
    origin = cell(payload, field)
    try:
        parsed = parse_serial(origin)
    except SerialError as exc:
        raise RecordError(f"cannot parse serial: {exc.reason}", field=field, value=origin) from exc
    if parsed.scheme != "vcs":
        raise RecordError(
            f"is a {parsed.scheme} serial, not a Verra VCU", field=field, value=origin
        )
    stated = cell(payload, "quantity_derived")
    if stated and quantity(stated, "quantity_derived") != parsed.quantity:
        raise RecordError(
            f"does not match the serial's {parsed.quantity} units",
            field="quantity_derived",
            value=stated,
        )
    project = cell(payload, "vcs_project_id")
    if project and parsed.project_id and "VCS" + project.removeprefix("VCS") != parsed.project_id:
        raise RecordError(
            f"names another project than the serial ({parsed.project_id})",
            field="vcs_project_id",
            value=project,
        )
    return UnitBlock(
        registry=REGISTRY,
        record_id=denom.denom,
        serial=denom.denom,
        scheme=parsed.scheme,
        scope=parsed.scope,
        block_start=parsed.block_start,
        block_end=parsed.block_end,
        quantity=parsed.quantity,
        project_id=denom.project_id,
        vintage_start=denom.start_date,
        vintage_end=denom.end_date,
        country=parsed.country,
        status=Status.ISSUED.value,
        status_reason=join_reason((("issued on Regen Ledger from Verra retirement", origin),)),
        origin=origin,
        cross_refs=_references(parsed.project_id, origin),
    )


def api_batch_block(payload: Mapping[str, Any]) -> UnitBlock:
    """A ``BatchInfo`` of the ledger API with its ``supply`` (added by the stream)."""
    denom = _denom(payload, "denom")
    supply = payload.get("supply")
    if not isinstance(supply, Mapping):
        raise RecordError("is missing (the batch supply)", field="supply", value=supply)
    tradable = _amount(supply, "tradable_amount")
    retired = _amount(supply, "retired_amount")
    cancelled = _amount(supply, "cancelled_amount")
    units = tradable + retired + cancelled
    if units <= 0:
        raise RecordError("is empty: the batch holds no credits", field="supply", value=supply)
    if tradable:
        status = Status.ISSUED
    elif retired:
        status = Status.RETIRED
    else:
        status = Status.CANCELLED
    reason = join_reason(
        (
            ("tradable", str(tradable) if tradable and status != Status.ISSUED else ""),
            ("retired", str(retired) if retired else ""),
            ("cancelled", str(cancelled) if cancelled else ""),
            ("metadata", cell(payload, "metadata")),
        )
    )
    project = cell(payload, "project_id") or denom.project_id
    scheme, scope, start, end, origin, country = SCHEME, denom.denom, 1, units, None, None
    refs: str | None = None
    if cell(payload, "vcs_retirement_serial_number"):
        # The resolved metadata names the Verra retirement: numbered as the batch table does.
        numbered = file_batch_block(
            {
                "regen_batch_metadata_file": denom.denom,
                "vcs_retirement_serial_number": payload["vcs_retirement_serial_number"],
                "vcs_project_id": cell(payload, "vcs_project_id"),
            }
        )
        if numbered.quantity != units:
            raise RecordError(
                f"holds {units} credits, the Verra serial it names {numbered.quantity}",
                field="supply",
                value=supply,
            )
        scheme, scope = numbered.scheme, numbered.scope
        start, end, origin = numbered.block_start, numbered.block_end, numbered.origin
        country = numbered.country
        refs = numbered.cross_refs
    return UnitBlock(
        registry=REGISTRY,
        record_id=denom.denom,
        serial=denom.denom,
        scheme=scheme,
        scope=scope,
        block_start=start,
        block_end=end,
        quantity=units,
        origin=origin,
        country=country,
        project_id=project or None,
        vintage_start=day(payload.get("start_date"), "start_date") or denom.start_date,
        vintage_end=day(payload.get("end_date"), "end_date") or denom.end_date,
        status=status.value,
        status_reason=reason,
        status_date=day(payload.get("issuance_date"), "issuance_date"),
        cross_refs=refs,
    )


def _references(vcs_project: str | None, origin: str | None) -> str | None:
    """What a C01 batch names at Verra: the VCS project and the retirement serial it was
    issued from (kept as data for project-level reconciliation)."""
    refs: list[tuple[str, str, str]] = []
    if vcs_project:
        refs.append(("vcs_project", "verra", vcs_project))
    if origin:
        refs.append(("source_serial", "verra", origin))
    return references_text(refs)


def _amount(supply: Mapping[str, Any], key: str) -> int:
    """A supply amount (a decimal string with up to six places) as whole credits."""
    text = cell(supply, key) or "0"
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RecordError("is not a number", field=f"supply.{key}", value=text) from None
    if value < 0 or value != value.to_integral_value():
        # Fractions of a credit are no whole units: such a batch cannot be a block.
        raise RecordError("is not a whole number of credits", field=f"supply.{key}", value=text)
    return int(value)
