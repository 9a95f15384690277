"""Stellarcarbon records to unit blocks.

Stellarcarbon keeps Verra VCUs *live* in its Verra sub-account 11273 ("CARBON Pool |
stellarcarbon.io") and mints CARBON tokens on Stellar for them (custody bridge). A minted
block names the Verra block it stands for; a retirement is a Verra retirement certificate
that sinks tokens and retires a sub-range of a minted block in Verra for the token holder.

Both are numbered in the credits' own scheme, the Verra serial's (``vcs``; the sample's
serials are Markit ones, scope ``legacy``), so detection compares them with Verra's records;
``origin`` is the Verra serial. A minted block is ``issued`` (tokens circulate; the units sit
in the custody sub-account, named in ``status_reason``), a retirement ``retired``. Inside the
``stellar`` registry a retirement and the minted block it lies in overlap by design: the
retirement is the more final state of those units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from metaregistry.connector import RecordError
from metaregistry.model import Status, UnitBlock, references_text
from metaregistry.serials import ParsedSerial, SerialError, parse_serial
from metaregistry_connectors.verra.values import cell, day, join_reason, quantity

__all__ = ["REGISTRY", "minted_block", "retirement_block"]

REGISTRY: Final = "stellar"


def _serial(payload: Mapping[str, Any]) -> tuple[str, ParsedSerial]:
    field = "serial_number"
    text = cell(payload, field)
    if not text:
        raise RecordError("is empty", field=field, value=payload.get(field))
    try:
        parsed = parse_serial(text)
    except SerialError as exc:
        raise RecordError(f"cannot parse serial: {exc.reason}", field=field, value=text) from exc
    if parsed.scheme != "vcs":
        raise RecordError(f"is a {parsed.scheme} serial, not a Verra VCU", field=field, value=text)
    return text, parsed


def _project(payload: Mapping[str, Any], parsed: ParsedSerial) -> str | None:
    stated = cell(payload, "vcs_project_id")
    if stated and parsed.project_id and "VCS" + stated != parsed.project_id:
        raise RecordError(
            f"names another project than the serial ({parsed.project_id})",
            field="vcs_project_id",
            value=stated,
        )
    return parsed.project_id or ("VCS" + stated if stated else None)


def _references(vcs_project: str | None, serial: str) -> str | None:
    """The Verra project and the VCU serial the token stands for, kept as data."""
    refs = [("source_serial", "verra", serial)]
    if vcs_project:
        refs.append(("vcs_project", "verra", vcs_project))
    return references_text(refs)


def _check_column(payload: Mapping[str, Any], key: str, expected: int) -> None:
    stated = cell(payload, key)
    if stated and (not stated.isdigit() or int(stated) != expected):
        raise RecordError(f"does not match the serial ({expected})", field=key, value=stated)


def minted_block(payload: Mapping[str, Any]) -> UnitBlock:
    """A minted block: Verra units in the custody sub-account, tokenized on Stellar."""
    serial, parsed = _serial(payload)
    _check_column(payload, "block_start", parsed.block_start)
    _check_column(payload, "block_end", parsed.block_end)
    ident = cell(payload, "serial_hash")
    if not ident:
        raise RecordError("is empty", field="serial_hash", value=payload.get("serial_hash"))
    account = cell(payload, "sub_account_id")
    name = cell(payload, "sub_account_name")
    where = f"{account} ({name})" if account and name else account or name
    return UnitBlock(
        registry=REGISTRY,
        record_id=ident,
        serial=serial,
        scheme=parsed.scheme,
        scope=parsed.scope,
        block_start=parsed.block_start,
        block_end=parsed.block_end,
        quantity=parsed.quantity,
        project_id=_project(payload, parsed),
        vintage_start=day(payload.get("vintage_start"), "vintage_start") or parsed.vintage_start,
        vintage_end=day(payload.get("vintage_end"), "vintage_end") or parsed.vintage_end,
        country=parsed.country,
        status=Status.ISSUED.value,
        status_reason=join_reason(
            (
                ("tokenized on Stellar by stellarcarbon.io; held in Verra sub-account", where),
                ("mint transaction", cell(payload, "transaction_hash")),
            )
        ),
        status_date=day(payload.get("created_at"), "created_at"),
        origin=serial,
        cross_refs=_references(_project(payload, parsed), serial),
    )


def retirement_block(payload: Mapping[str, Any]) -> UnitBlock:
    """A retirement certificate: tokens sunk, the sub-range retired in Verra for the holder."""
    serial, parsed = _serial(payload)
    units = quantity(payload.get("vcu_amount"), "vcu_amount")
    if units != parsed.quantity:
        raise RecordError(
            f"does not match the serial's {parsed.quantity} units", field="vcu_amount", value=units
        )
    certificate = cell(payload, "certificate_id")
    if not certificate:
        raise RecordError("is empty", field="certificate_id", value=payload.get("certificate_id"))
    return UnitBlock(
        registry=REGISTRY,
        record_id=f"certificate {certificate}",
        serial=serial,
        scheme=parsed.scheme,
        scope=parsed.scope,
        block_start=parsed.block_start,
        block_end=parsed.block_end,
        quantity=units,
        project_id=_project(payload, parsed),
        vintage_start=day(payload.get("vintage_start"), "vintage_start") or parsed.vintage_start,
        vintage_end=day(payload.get("vintage_end"), "vintage_end") or parsed.vintage_end,
        country=parsed.country,
        status=Status.RETIRED.value,
        status_reason=join_reason(
            (
                ("Verra retirement certificate", certificate),
                ("beneficiary", cell(payload, "retirement_beneficiary")),
                ("details", cell(payload, "retirement_details")),
            )
        ),
        status_date=day(payload.get("retirement_date"), "retirement_date"),
        origin=serial,
        cross_refs=_references(_project(payload, parsed), serial),
    )
