"""Verra records to unit blocks: one normalization for the API and the export files.

Numbering (DOMAIN.md): scheme ``vcs``; Verra numbers blocks registry-wide, so the scope is
``""`` for serials of the current registry, and ``legacy`` for the APX / Markit serials whose
numbers restarted (the serial grammar decides). ``record_id`` is the serial as published: a
Verra block's serial names its batch and exact range, and a retirement splits a block into new
serials (the real sample has 200 rows, 200 distinct serials; a retired sub-range and its live
remainder are two records). API and file rows of one block therefore share the record id.

Retired or cancelled: the web export has one "Retirement/Cancellation Date" column and cannot
tell the two apart, nor can the older API's ``retiredCancelled`` flag. Such a block is stored
as ``retired`` (the more final state: no unit of it is live) with ``status_reason`` starting
with :data:`UNDISTINGUISHED`, so that nobody downstream mistakes it for a known retirement. The
2026 API's ``stateCode`` (RETIRED, CANCELLED, ...) is taken as is, without the prefix.

Country and project come from the serial (the export prints country names, the serial the
ISO code), vintages from the vintage fields (day-first or ISO) with the serial as fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from metaregistry.connector import RecordError
from metaregistry.model import CorrespondingAdjustment, Status, UnitBlock
from metaregistry.serials import ParsedSerial, SerialError, parse_serial
from metaregistry_connectors.verra.fields import HOLDINGS, TransactionFields
from metaregistry_connectors.verra.values import cell, day, join_reason, quantity

__all__ = [
    "ADJUSTMENTS",
    "REGISTRY",
    "STATE_CODES",
    "UNDISTINGUISHED",
    "authorized_purpose",
    "corresponding_adjustment",
    "holding_block",
    "transaction_block",
]

REGISTRY: Final = "verra"
#: First words of the reason of a block the source says is "retired or cancelled".
UNDISTINGUISHED: Final = "retired or cancelled (the source does not tell them apart)"
#: ``stateCode`` values of the 2026 platform.
STATE_CODES: Final = {
    "ISSUED": Status.ISSUED,
    "ACTIVE": Status.ISSUED,
    "HELD": Status.ISSUED,
    "RETIRED": Status.RETIRED,
    "CANCELLED": Status.CANCELLED,
    "CANCELED": Status.CANCELLED,
    "TRANSFERRED": Status.TRANSFERRED,
    "PENDING": Status.PENDING,
    "BUFFER": Status.BUFFER,
    "EXPIRED": Status.EXPIRED,
}
#: Corresponding-adjustment wordings, lower-cased, to the model's values.
ADJUSTMENTS: Final = {
    "applied": CorrespondingAdjustment.APPLIED,
    "adjusted": CorrespondingAdjustment.APPLIED,
    "ca applied": CorrespondingAdjustment.APPLIED,
    "pending": CorrespondingAdjustment.PENDING,
    "ca pending": CorrespondingAdjustment.PENDING,
    "requested": CorrespondingAdjustment.PENDING,
    "not applied": CorrespondingAdjustment.NOT_APPLIED,
    "not adjusted": CorrespondingAdjustment.NOT_APPLIED,
    "not required": CorrespondingAdjustment.NOT_REQUIRED,
    "not applicable": CorrespondingAdjustment.NOT_REQUIRED,
    "n/a": CorrespondingAdjustment.NOT_REQUIRED,
    "none": CorrespondingAdjustment.NOT_REQUIRED,
}
_NO_REFERENCE: Final = frozenset({"", "yes", "no", "true", "false", "n/a", "na", "none", "-"})
_TRUE: Final = frozenset({"true", "yes", "y", "1"})


def _first(payload: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str, str]:
    """(name, text) of the first of ``names`` the payload holds a value for."""
    for name in names:
        if payload.get(name) is not None:  # most of these fields are absent: skip cheaply
            text = cell(payload, name)
            if text:
                return name, text
    return (names[0] if names else ""), ""


def _serial(payload: Mapping[str, Any], field: str) -> tuple[str, ParsedSerial]:
    text = cell(payload, field)
    if not text:
        raise RecordError("is empty", field=field, value=payload.get(field))
    try:
        parsed = parse_serial(text)
    except SerialError as exc:
        # Name the record's field, as every quarantine reason does.
        raise RecordError(f"cannot parse serial: {exc.reason}", field=field, value=text) from exc
    if parsed.scheme != "vcs":
        raise RecordError(f"is a {parsed.scheme} serial, not a Verra VCU", field=field, value=text)
    return text, parsed


def _units(payload: Mapping[str, Any], field: str, parsed: ParsedSerial) -> int:
    """The quantity column, or the serial's range when the column is empty (the pipeline
    checks the two against each other)."""
    value = payload.get(field)
    return parsed.quantity if value is None or value == "" else quantity(value, field)


def _status(payload: Mapping[str, Any], fields: TransactionFields) -> tuple[Status, str | None]:
    """The block's status, and the reason prefix when retired/cancelled is unknown."""
    name, state = _first(payload, fields.state)
    if state:
        status = STATE_CODES.get(state.upper().replace(" ", "_"))
        if status is None:
            known = ", ".join(STATE_CODES)
            raise RecordError(f"is not a known state ({known})", field=name, value=state)
        return status, None
    flag = False
    for key in fields.retired_cancelled:
        value = payload.get(key)
        if isinstance(value, str):
            word = value.strip().lower()
            if word == "retired":
                return Status.RETIRED, None
            if word in ("cancelled", "canceled"):
                return Status.CANCELLED, None
            flag = flag or word in _TRUE
        elif value is True:
            flag = True
    if flag or cell(payload, fields.ended_on):
        return Status.RETIRED, UNDISTINGUISHED
    return Status.ISSUED, None


def authorized_purpose(text: str) -> str | None:
    """Article 6 authorization read from Verra's additional certifications, e.g.
    "Article 6 Authorized – NDC Use; Article 6 Authorized – Intl mitigation purposes"."""
    if "rticle 6" not in text:
        return None
    ndc = other = False
    for part in text.split(";"):
        words = part.strip().lower()
        if not words.startswith("article 6 authori"):
            continue
        # "authorized" and "authorised" have the same length; the use follows a dash.
        use = words[len("article 6 authorized") :].strip(" -\u2013\u2014:")
        if "ndc" in use:
            ndc = True
        elif use:
            other = True  # international mitigation / other purposes: OIMP in 6.2 terms
    if ndc and other:
        return "ndc-and-oimp"
    if ndc:
        return "ndc"
    return "oimp" if other else None


def corresponding_adjustment(text: str, field: str) -> str | None:
    if not text:
        return None
    found = ADJUSTMENTS.get(text.strip().lower().replace("_", " ").replace("-", " "))
    if found is None:
        raise RecordError("is not a known corresponding-adjustment state", field=field, value=text)
    return found.value


def transaction_block(payload: Mapping[str, Any], fields: TransactionFields) -> UnitBlock:
    """A search-API record or a transactions-export row as a unit block."""
    serial, parsed = _serial(payload, fields.serial)
    units = _units(payload, fields.quantity, parsed)
    status, prefix = _status(payload, fields)
    _, purpose = _first(payload, fields.cancellation_purpose)
    # Both dates are read (and a bad one refused, naming its column) whichever the status
    # uses: a value the block does not keep is still a fact of the record (issue 20 item 4).
    issued_on = day(payload.get(fields.issued_on), fields.issued_on)
    ended_on = day(payload.get(fields.ended_on), fields.ended_on)
    if status in (Status.ISSUED, Status.PENDING, Status.BUFFER):
        status_date = issued_on
        reason = None
    else:
        status_date = ended_on
        reason = join_reason(
            (
                ("cancellation purpose", purpose),
                ("reason", cell(payload, fields.reason)),
                ("beneficiary", cell(payload, fields.beneficiary)),
                ("details", cell(payload, fields.details)),
            ),
            prefix,
        )
    ca_name, ca = _first(payload, fields.corresponding_adjustment)
    _, authorization = _first(payload, fields.authorization)
    project = parsed.project_id or _project(cell(payload, fields.project))
    return UnitBlock(
        registry=REGISTRY,
        record_id=serial,
        serial=serial,
        scheme=parsed.scheme,
        scope=parsed.scope,
        block_start=parsed.block_start,
        block_end=parsed.block_end,
        quantity=units,
        project_id=project,
        vintage_start=day(payload.get(fields.vintage_start), fields.vintage_start)
        or parsed.vintage_start,
        vintage_end=day(payload.get(fields.vintage_end), fields.vintage_end) or parsed.vintage_end,
        country=parsed.country,
        status=status.value,
        status_reason=reason,
        status_date=status_date,
        authorization_id=None if authorization.lower() in _NO_REFERENCE else authorization,
        authorized_purpose=authorized_purpose(cell(payload, fields.certifications)),
        corresponding_adjustment=corresponding_adjustment(ca, ca_name),
    )


def _project(text: str) -> str | None:
    if not text:
        return None
    return text if text.upper().startswith("VCS") else "VCS" + text


def holding_block(payload: Mapping[str, Any]) -> UnitBlock:
    """A row of a sub-account holdings report: units held (live) in a sub-account.

    A holdings report lists what an account holds, so every row is ``issued``; the
    sub-account goes into ``status_reason`` (it is how tokenized supply such as MCO2 shows in
    the registry). The report has no issuance date.
    """
    fields = HOLDINGS
    serial, parsed = _serial(payload, fields.serial)
    units = _units(payload, fields.quantity, parsed)
    vintage_start, vintage_end = _vintage_span(cell(payload, fields.vintage), fields.vintage)
    account = cell(payload, fields.account_id)
    name = cell(payload, fields.account_name)
    where = f"{account} ({name})" if account and name else account or name
    return UnitBlock(
        registry=REGISTRY,
        record_id=serial,
        serial=serial,
        scheme=parsed.scheme,
        scope=parsed.scope,
        block_start=parsed.block_start,
        block_end=parsed.block_end,
        quantity=units,
        project_id=parsed.project_id or _project(cell(payload, fields.project)),
        vintage_start=vintage_start or parsed.vintage_start,
        vintage_end=vintage_end or parsed.vintage_end,
        country=parsed.country,
        status=Status.ISSUED.value,
        status_reason=join_reason((("held in sub-account", where),)),
    )


def _vintage_span(text: str, field: str) -> tuple[str | None, str | None]:
    """``01/07/2014-31/12/2014`` (day-first, as the holdings report prints it) or
    ``2014-07-01 - 2014-12-31``."""
    if not text:
        return None, None
    if "/" in text:
        first, dash, last = text.partition("-")
    elif len(text) >= 21:
        first, dash, last = text[:10], "-", text[-10:]
    else:
        first, dash, last = text, "", ""
    if not dash:
        raise RecordError("is not a vintage period (start-end)", field=field, value=text)
    return day(first, field), day(last, field)
