"""Gold Standard records to unit blocks: one normalization for the API and the exports.

Numbering (DOMAIN.md): GS VERs are scheme ``gs`` scoped by their issuance batch (numbering
restarts at 1 in every batch). CDM CERs that moved to Gold Standard keep their CDM serial
(``RW-5-1463953-2-2-0-7014 - RW-5-1467609-2-2-0-7014``) and are numbered in scheme ``cdm``
(scope ``<party>-<unit type>``), with that serial also in ``origin``, so detection compares
them with the CDM registry's records. The serial decides the scheme, not the product column.

Record ids: the API's numeric ``id`` is absent from the exports, so both paths key a block by
its serial, prefixed with the list it came from: ``issuance:<serial>`` for the issued list
(``issuances.csv``, ``GET /credits``) and ``retirement:<serial>`` for the retired list
(``retirements.csv``, its cancelled rows included, ``GET /credits?issuances=false``). The two
lists overlap by design (an issuance row and later retirements inside it, or a whole batch
retired under the same serial); both rows are kept as records of their own.

Dates: an issued block's ``status_date`` is its issuance date (the export's "Issuance Date",
the API's ``certified_date``, taken to be the same event); a retired or cancelled block's is
its retirement date (the export's "Retirement Date"; the API's ``retirement_date`` when it
has one). The reason of a retired or cancelled block joins use case, using entity, aeroplane
operator and note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from metaregistry.connector import RecordError
from metaregistry.model import Status, UnitBlock
from metaregistry.serials import SerialError, parse_gs_columns
from metaregistry_connectors.verra.values import (
    cell,
    day,
    join_reason,
    quantity,
    vintage_year_range,
)

__all__ = [
    "ISSUANCE",
    "REGISTRY",
    "RETIREMENT",
    "STATUSES",
    "CreditFacts",
    "article_six_purpose",
    "credit_block",
    "facts_from_api",
    "facts_from_export",
]

REGISTRY: Final = "gold-standard"
#: Record-id prefixes: which of Gold Standard's two lists a record came from.
ISSUANCE: Final = "issuance"
RETIREMENT: Final = "retirement"
#: Credit Status / ``status`` values, lower-cased.
STATUSES: Final = {
    "issued": Status.ISSUED,
    "retired": Status.RETIRED,
    "canceled": Status.CANCELLED,
    "cancelled": Status.CANCELLED,
    "pending": Status.PENDING,
}


@dataclass(frozen=True, slots=True)
class CreditFacts:
    """The facts of one Gold Standard record, whichever shape it came in. Each value is
    paired with the field it was read from, for error messages."""

    listing: str  # ISSUANCE or RETIREMENT
    serial: str
    quantity: Any
    vintage: Any
    status: str
    issued_on: Any
    ended_on: Any
    use_case: str = ""
    using_entity: str = ""
    operator: str = ""
    note: str = ""
    article_six: str = ""
    gsid: Any = None
    start: Any = None
    end: Any = None
    names: tuple[str, ...] = (
        "Serial Number",
        "Quantity",
        "Vintage",
        "Credit Status",
        "Issuance Date",
        "Retirement Date",
        "Article Six Authorization",
        "Start",
        "End",
        "GSID",
    )


_API_NAMES: Final = (
    "serial_number",
    "number_of_credits",
    "vintage",
    "status",
    "certified_date",
    "retirement_date",
    "article_six_authorization",
    "starting_credit_number",
    "ending_credit_number",
    "project.sustaincert_id",
)


def facts_from_export(payload: Mapping[str, Any], listing: str) -> CreditFacts:
    """A row of ``issuances.csv`` or ``retirements.csv``."""
    return CreditFacts(
        listing=listing,
        serial=cell(payload, "Serial Number"),
        quantity=payload.get("Quantity"),
        vintage=payload.get("Vintage"),
        status=cell(payload, "Credit Status"),
        issued_on=payload.get("Issuance Date"),
        ended_on=payload.get("Retirement Date"),
        use_case=cell(payload, "Use Case"),
        using_entity=cell(payload, "Using Entity"),
        operator=cell(payload, "Aeroplane Operator Name"),
        note=cell(payload, "Note"),
        article_six=cell(payload, "Article Six Authorization"),
        gsid=payload.get("GSID") or None,
    )


def facts_from_api(payload: Mapping[str, Any], listing: str) -> CreditFacts:
    """A record of ``GET /credits``."""
    project = payload.get("project")
    gsid = project.get("sustaincert_id") if isinstance(project, Mapping) else None
    return CreditFacts(
        listing=listing,
        serial=cell(payload, "serial_number"),
        quantity=payload.get("number_of_credits"),
        vintage=payload.get("vintage"),
        status=cell(payload, "status"),
        issued_on=payload.get("certified_date"),
        ended_on=payload.get("retirement_date"),
        use_case=cell(payload, "retirement_use_case"),
        using_entity=cell(payload, "using_entity"),
        operator=cell(payload, "aeroplane_operator_name"),
        note=cell(payload, "note"),
        article_six=cell(payload, "article_six_authorization"),
        gsid=gsid if gsid not in ("", None) else None,
        start=payload.get("starting_credit_number"),
        end=payload.get("ending_credit_number"),
        names=_API_NAMES,
    )


def article_six_purpose(text: str, field: str) -> str | None:
    """Gold Standard's "Article Six Authorization" as an authorized purpose."""
    words = text.strip().lower()
    if not words or words.startswith(("not ", "no ", "n/a", "none", "unauthori")):
        return None
    ndc = "ndc" in words
    other = "oimp" in words or "international" in words or "other" in words
    if ndc and other:
        return "ndc-and-oimp"
    if ndc:
        return "ndc"
    if other:
        return "oimp"
    raise RecordError("is not a known Article 6 authorization", field=field, value=text)


def credit_block(facts: CreditFacts) -> UnitBlock:
    """One Gold Standard record as a unit block."""
    names = facts.names
    if not facts.serial:
        raise RecordError("is empty", field=names[0], value=facts.serial)
    units = quantity(facts.quantity, names[1])
    columns = {
        "start": (names[7], _optional(facts.start)),
        "end": (names[8], _optional(facts.end)),
        "quantity": (names[1], units),
        "vintage": (names[2], _optional(facts.vintage)),
        "gsid": (names[9], _optional(facts.gsid)),
    }
    try:
        parsed = parse_gs_columns(facts.serial, **{k: v for k, (_, v) in columns.items()})
    except SerialError as exc:
        raise _serial_error(exc, facts, columns) from exc
    status = STATUSES.get(facts.status.lower())
    if status is None:
        known = ", ".join(sorted({s.title() for s in STATUSES}))
        raise RecordError(
            f"is not a known credit status ({known})", field=names[3], value=facts.status
        )
    vintage_start, vintage_end = parsed.vintage_start, parsed.vintage_end
    if vintage_start is None:  # CDM serials state no vintage: the column does
        vintage_start, vintage_end = vintage_year_range(facts.vintage, names[2])
    if status is Status.ISSUED or status is Status.PENDING:
        status_date = day(facts.issued_on, names[4])
        reason = None
    else:
        status_date = day(facts.ended_on, names[5])
        reason = join_reason(
            (
                ("use case", facts.use_case),
                ("using entity", facts.using_entity),
                ("aeroplane operator", facts.operator),
                ("note", facts.note),
            )
        )
    return UnitBlock(
        registry=REGISTRY,
        record_id=f"{facts.listing}:{facts.serial}",
        serial=facts.serial,
        scheme=parsed.scheme,
        scope=parsed.scope,
        block_start=parsed.block_start,
        block_end=parsed.block_end,
        quantity=units,
        project_id=parsed.project_id,
        vintage_start=vintage_start,
        vintage_end=vintage_end,
        country=parsed.country,
        status=status.value,
        status_reason=reason,
        status_date=status_date,
        origin=facts.serial if parsed.scheme != "gs" else None,
        authorized_purpose=article_six_purpose(facts.article_six, names[6]),
    )


def _serial_error(
    exc: SerialError, facts: CreditFacts, columns: Mapping[str, tuple[str, Any]]
) -> RecordError:
    """The serial's error as a record error naming the record's field: the column that
    disagrees with the serial, or the serial itself."""
    name, value = columns.get(exc.field or "", ("", None))
    if value is not None and exc.token == str(value):
        return RecordError(
            f"disagrees with serial {facts.serial!r}: {exc.reason}", field=name, value=value
        )
    return RecordError(
        f"cannot parse serial: {exc.reason}", field=facts.names[0], value=facts.serial
    )


def _optional(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value
