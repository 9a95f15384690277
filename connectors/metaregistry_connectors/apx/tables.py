"""Report tables of the APX-hosted registries (ACR, CAR, ART TREES), described as data.

Three kinds of report, each read the same way whatever the registry:

* **issuances**: one row per issuance of a project and vintage, with a quantity and no unit
  numbers. The block is that quantity in a numbering of its own (``numbering`` ``own``,
  ``1..quantity``, scheme the registry's, scope the row's issuance key), so it never takes part
  in range comparison; project-level reconciliation reads it.
* **retirements** and **cancellations**: one row per retirement or cancellation, with the
  credits' serial range (``ACR-US-1185-2025-3078-1 to 85847``), read by the registry's serial
  grammar (:mod:`metaregistry.serials`) into scheme, scope and unit numbers: these are compared.

A row is quarantined only when it cannot be represented: a quantity that is no whole number,
a serial the grammar cannot read, a serial whose range disagrees with the quantity, or a
project id column naming another project than the serial.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from metaregistry.connector import RawRecord, RecordError
from metaregistry.model import OWN_NUMBERING, Status, UnitBlock
from metaregistry.projects import normalize_project_id
from metaregistry.serials import SerialError, parse_serial
from metaregistry_connectors.kinds import RecordKinds
from metaregistry_connectors.verra.tabular import FileKind
from metaregistry_connectors.verra.values import cell, join_reason, quantity

__all__ = ["OCCURRENCE", "IssuanceColumns", "Registry", "UnitColumns", "us_day"]

_BLANK: Final = frozenset({"", "n/a", "na", "none", "-", "–"})
#: Added to the second and later of issuance rows that share every identifying column.
OCCURRENCE: Final = "_occurrence"


@dataclass(frozen=True, slots=True)
class IssuanceColumns:
    """Where an issuance report keeps each fact."""

    quantity: str
    project: str
    vintage: str
    date: str
    required: frozenset[str]
    period: tuple[str, str] | None = None
    country: str | None = None
    extra_key: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnitColumns:
    """Where a retirement or cancellation report keeps each fact."""

    serial: str
    quantity: str
    date: str
    project: str
    reasons: tuple[tuple[str, str], ...]
    required: frozenset[str]
    status: str = Status.RETIRED.value


@dataclass(frozen=True, slots=True)
class Registry:
    """One APX-hosted registry: its slug, its report columns, its raw schemas."""

    slug: str
    label: str
    scheme: str
    issuances: IssuanceColumns
    retirements: UnitColumns
    cancellations: UnitColumns
    schemas: Mapping[str, str] = field(default_factory=dict)

    @property
    def file_kinds(self) -> tuple[FileKind, ...]:
        return (
            FileKind("issuances", self.issuances.required),
            FileKind("retirements", self.retirements.required),
            FileKind("cancellations", self.cancellations.required),
        )

    def kinds(self) -> RecordKinds:
        return RecordKinds(
            self.slug,
            {
                "issuances": (self.schemas["issuances"], self.issuance_block),
                "retirements": (self.schemas["retirements"], self.retirement_block),
                "cancellations": (self.schemas["cancellations"], self.cancellation_block),
            },
            (
                (self.issuances.required, "issuances"),
                (self.retirements.required, "retirements"),
                (self.cancellations.required, "cancellations"),
            ),
        )

    def numbered_rows(self, records: Iterable[RawRecord]) -> Iterator[RawRecord]:
        """Issuance rows with every identifying column equal (ACR lists a removal and a
        reduction issuance of one project, vintage, period and minute as two rows) are told
        apart by their order in the report: the second gets ``OCCURRENCE`` 2, and so on.
        Both the file importer and the report stream pass rows through here."""
        seen: Counter[tuple[str, ...]] = Counter()
        cols = self.issuances
        names = (cols.project, cols.vintage, cols.date, *(cols.period or ()), *cols.extra_key)
        for record in records:
            if record.stream == "issuances":
                key = tuple(cell(record.payload, n) for n in names)
                seen[key] += 1
                if seen[key] > 1:
                    payload = {**record.payload, OCCURRENCE: str(seen[key])}
                    yield RawRecord(payload, record.ref, record.stream)
                    continue
            yield record

    # ---- normalization

    def _project(self, payload: Mapping[str, Any], column: str) -> str | None:
        text = cell(payload, column)
        if not text:
            return None
        try:
            return normalize_project_id(self.slug, text)
        except ValueError as exc:
            raise RecordError(str(exc), field=column, value=payload.get(column)) from None

    def issuance_block(self, payload: Mapping[str, Any]) -> UnitBlock:
        cols = self.issuances
        units = quantity(payload.get(cols.quantity), cols.quantity)
        project = self._project(payload, cols.project)
        if project is None:
            raise RecordError("is empty", field=cols.project, value=payload.get(cols.project))
        vintage = _year(payload, cols.vintage)
        issued = us_day(payload.get(cols.date), cols.date)
        start, end = (None, None)
        if cols.period is not None:
            start = us_day(payload.get(cols.period[0]), cols.period[0])
            end = us_day(payload.get(cols.period[1]), cols.period[1])
        key = " ".join(
            part
            for part in (
                project,
                str(vintage or ""),
                f"{start or ''}..{end or ''}" if cols.period else "",
                issued or "",
                *(cell(payload, c) for c in cols.extra_key),
                f"#{cell(payload, OCCURRENCE)}" if cell(payload, OCCURRENCE) else "",
            )
            if part
        )
        country = cell(payload, cols.country) if cols.country else ""
        return UnitBlock(
            registry=self.slug,
            record_id=f"issuance {key}",
            serial=f"{project} {vintage or ''} issuance {issued or ''}".strip(),
            scheme=self.scheme,
            scope=f"issuance {key}",
            block_start=1,
            block_end=units,
            quantity=units,
            project_id=project,
            vintage_start=f"{vintage}-01-01" if vintage else None,
            vintage_end=f"{vintage}-12-31" if vintage else None,
            country=country.upper() if len(country) == 2 else None,
            status=Status.ISSUED.value,
            status_date=issued,
            numbering=OWN_NUMBERING,
        )

    def _unit_block(self, payload: Mapping[str, Any], cols: UnitColumns) -> UnitBlock:
        serial = cell(payload, cols.serial)
        if not serial:
            raise RecordError("is empty", field=cols.serial, value=payload.get(cols.serial))
        try:
            parsed = parse_serial(serial)
        except SerialError as exc:
            raise RecordError(
                f"cannot parse serial: {exc.reason}", field=cols.serial, value=serial
            ) from exc
        units = quantity(payload.get(cols.quantity), cols.quantity)
        size = parsed.block_end - parsed.block_start + 1
        if size != units:
            raise RecordError(
                f"says {units:,} units, the serial's range holds {size:,}",
                field=cols.quantity,
                value=payload.get(cols.quantity),
            )
        stated = self._project(payload, cols.project)
        if stated and parsed.project_id and stated != parsed.project_id:
            raise RecordError(
                f"names project {stated}, the serial project {parsed.project_id}",
                field=cols.project,
                value=payload.get(cols.project),
            )
        reason = join_reason(
            (label, text)
            for label, column in cols.reasons
            if (text := cell(payload, column)) and text.lower() not in _BLANK
        )
        return UnitBlock(
            registry=self.slug,
            record_id=serial,
            serial=serial,
            scheme=parsed.scheme,
            scope=parsed.scope,
            block_start=parsed.block_start,
            block_end=parsed.block_end,
            quantity=units,
            project_id=parsed.project_id or stated,
            vintage_start=parsed.vintage_start,
            vintage_end=parsed.vintage_end,
            country=parsed.country,
            status=cols.status,
            status_reason=reason,
            status_date=us_day(payload.get(cols.date), cols.date),
        )

    def retirement_block(self, payload: Mapping[str, Any]) -> UnitBlock:
        return self._unit_block(payload, self.retirements)

    def cancellation_block(self, payload: Mapping[str, Any]) -> UnitBlock:
        return self._unit_block(payload, self.cancellations)


_US_DATE: Final = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]M)?)?$", re.I
)
_ISO_DATE: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


def us_day(value: Any, field: str) -> str | None:
    """An APX report date: month first (``3/24/2026 9:08:01 PM``, ``03/19/2026``; the time,
    in GMT where the column says so, is dropped) or ISO; ``YYYY-MM-DD``, None when blank.
    Never read day first: ``03/05/2025`` is the 5th of March in these reports."""
    text = cell({"v": value}, "v")
    if not text or text.lower() in _BLANK:
        return None
    match = _US_DATE.match(text)
    if match is not None:
        month, dom, year = (int(g) for g in match.groups())
    else:
        iso = _ISO_DATE.match(text)
        if iso is None:
            raise RecordError(
                "is not a date (expected month first, M/D/YYYY, as the report prints it)",
                field=field,
                value=value,
            )
        year, month, dom = (int(g) for g in iso.groups())
    try:
        return date(year, month, dom).isoformat()
    except ValueError:
        raise RecordError("is not a valid calendar date", field=field, value=value) from None


def _year(payload: Mapping[str, Any], column: str) -> int | None:
    text = cell(payload, column)
    if not text or text.lower() in _BLANK:
        return None
    whole, _, fraction = text.partition(".")
    if not (whole.isdigit() and len(whole) == 4) or fraction.strip("0"):
        raise RecordError("is not a year", field=column, value=payload.get(column))
    return int(whole)


def required(*columns: str) -> frozenset[str]:
    return frozenset(columns)


def reasons(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(pairs)
