"""Gold Standard serials, and the helper for exports that give the range in columns.

Token by token (DOMAIN.md, "Serial formats")::

    GS1-1-UG-GS11236-16-2024-30307-1-19149
    series-series number-country-GS+project-project type code-vintage-batch-start-end

Numbering restarts at 1 in every issuance batch, so the scope is the batch. The vintage is a
year; it becomes ``YYYY-01-01 .. YYYY-12-31``. ``GS1-1`` is kept as the ``series`` extra (its
meaning is not documented anywhere we could read).

Older exports print the serial without the range (``GS1-1-CN-GS7604-3-2020-21289``) and give
the first and last unit in columns of their own; :func:`parse_gs_columns` reads those, and
checks a full serial against the columns a Gold Standard export row carries next to it
(``Quantity``, ``Vintage``, ``GSID``). CDM CERs that moved to Gold Standard keep their CDM
serial; the helper hands those to the CDM grammar and checks the quantity the same way.
"""

from __future__ import annotations

import re
from typing import Final

from metaregistry.serials.cdm import CDM
from metaregistry.serials.parsed import (
    MAX_BLOCK_NUMBER,
    MAX_SERIAL_LENGTH,
    ParsedSerial,
    SerialError,
)
from metaregistry.serials.tokens import block_range, country, digits, number, vintage_year

_FIELDS: Final = (
    "series",
    "series_number",
    "country",
    "project_id",
    "project_type_code",
    "vintage",
    "batch",
    "block_start",
    "block_end",
)
_PREFIX_TOKENS: Final = 7
_COLUMNS: Final = "gold-standard-columns"
_SHAPE: Final = re.compile(
    r"(GS\d+)-(\d+)-([A-Z]{2})-(GS\d+)-(\d+)-(\d{4})-(\d+)-(\d+)-(\d+)", re.ASCII
)


class GoldStandardGrammar:
    """``GS1-1-<country>-GS<project>-<type>-<vintage>-<batch>-<start>-<end>``."""

    family = "gold-standard"

    def match(self, text: str) -> bool:
        return text.startswith("GS") and text[2:3].isdigit()

    def parse(self, text: str) -> ParsedSerial:
        """One regex match for a well-formed serial; :meth:`read_tokens` for the rest."""
        shape = _SHAPE.fullmatch(text)
        if shape is None:
            return self.read_tokens(text)
        series, number, country, project, type_code, year, batch, first, last = shape.groups()
        start = int(first)
        end = int(last)
        if start > end or end > MAX_BLOCK_NUMBER or year == "0000":
            return self.read_tokens(text)
        return _result(
            self.family, f"{series}-{number}", country, project, type_code, year, batch, start, end
        )

    def read_tokens(self, text: str) -> ParsedSerial:
        """The token-by-token reader: the reference for :meth:`parse`, and its errors."""
        tokens = text.split("-")
        if len(tokens) != len(_FIELDS):
            _complain_about_count(text, tokens)
        prefix = _read_prefix(text, tokens)
        start, end = block_range(text, tokens[7], tokens[8])
        return _result(self.family, *prefix, start, end)


def _complain_about_count(text: str, tokens: list[str]) -> None:
    if len(tokens) < len(_FIELDS):
        raise SerialError.missing(text, _FIELDS[len(tokens)])
    extra = tokens[len(_FIELDS)]
    raise SerialError(text, extra, f"unexpected token {extra!r} after block end")


def _read_prefix(text: str, tokens: list[str]) -> tuple[str, str, str, str, str, str]:
    """The seven tokens before the range: series, country, project, type, vintage, batch."""
    series = tokens[0]
    if not (series.startswith("GS") and series[2:].isdigit() and series.isascii()):
        raise SerialError.at(text, series, "series", "is not GS followed by a number")
    series_number = digits(text, tokens[1], "series_number")
    country_code = country(text, tokens[2])
    project = tokens[3]
    if not (project.startswith("GS") and project[2:].isdigit() and project.isascii()):
        raise SerialError.at(text, project, "project_id", "is not GS followed by a number")
    type_code = digits(text, tokens[4], "project_type_code")
    vintage_year(text, tokens[5])
    batch = digits(text, tokens[6], "batch")
    return f"{series}-{series_number}", country_code, project, type_code, tokens[5], batch


def _result(
    family: str,
    series: str,
    country: str,
    project: str,
    type_code: str,
    year: str,
    batch: str,
    start: int,
    end: int,
) -> ParsedSerial:
    return ParsedSerial(
        family,
        "gs",
        batch,
        start,
        end,
        project_id=project,
        vintage_start=year + "-01-01",
        vintage_end=year + "-12-31",
        country=country,
        batch=batch,
        extras=(("series", series), ("project_type_code", type_code)),
    )


def parse_gs_columns(
    serial: str,
    *,
    start: int | str | None = None,
    end: int | str | None = None,
    quantity: int | str | None = None,
    vintage: int | str | None = None,
    gsid: int | str | None = None,
) -> ParsedSerial:
    """Parse a Gold Standard export row: the serial cell plus the columns beside it.

    ``serial`` is either a full serial or the older prefix that stops at the batch
    (``GS1-1-CN-GS7604-3-2020-21289``); a prefix needs ``start`` and ``end`` (or ``start`` and
    ``quantity``), and its result has family ``gold-standard-columns``. Every column given is
    checked against the serial: ``quantity`` (``Quantity``), ``vintage`` (``Vintage``), ``gsid``
    (``GSID``, with or without the ``GS`` prefix) and ``start``/``end``. Column values may be
    ints or text as exported (``"19,149"``, ``"2024.0"``). A CDM serial (GS-labelled CERs) is
    parsed by the CDM grammar and checked against ``quantity`` only.

    Raises ``SerialError`` naming the column that disagrees.
    """
    if len(serial) > MAX_SERIAL_LENGTH:
        raise SerialError(serial, None, f"is longer than {MAX_SERIAL_LENGTH} characters")
    text = serial.strip()
    if not text:
        raise SerialError(text, None, "empty serial")
    if CDM.match(text):
        parsed = CDM.parse(text)
        _check(text, "quantity", quantity, parsed.quantity)
        return parsed
    tokens = text.split("-")
    if len(tokens) == _PREFIX_TOKENS:
        parsed = _from_columns(text, tokens, start, end, quantity)
    else:
        parsed = GOLD_STANDARD.parse(text)
        _check(text, "start", start, parsed.block_start)
        _check(text, "end", end, parsed.block_end)
        _check(text, "quantity", quantity, parsed.quantity)
    if vintage is not None:
        _check(text, "vintage", vintage, int((parsed.vintage_start or "0")[:4]))
    if gsid is not None:
        wanted = str(gsid).strip()
        wanted = wanted.removeprefix("GS")
        _check(text, "gsid", wanted, int((parsed.project_id or "GS0")[2:]))
    return parsed


def _from_columns(
    text: str,
    tokens: list[str],
    start: int | str | None,
    end: int | str | None,
    quantity: int | str | None,
) -> ParsedSerial:
    if start is None:
        raise SerialError(text, None, "a serial without a range needs a start column", "start")
    first = _column(text, "start", start)
    if end is not None:
        last = _column(text, "end", end)
        if last < first:
            raise SerialError.at(text, str(end), "end", f"is before start {first}")
        _check(text, "quantity", quantity, last - first + 1)
    elif quantity is not None:
        count = _column(text, "quantity", quantity)
        if count < 1:
            raise SerialError.at(text, str(quantity), "quantity", "is not positive")
        last = first + count - 1
        if last > MAX_BLOCK_NUMBER:
            raise SerialError.at(text, str(quantity), "quantity", "ends past 2**63-1")
    else:
        raise SerialError(text, None, "a serial without a range needs an end column", "end")
    return _result(_COLUMNS, *_read_prefix(text, tokens), first, last)


def _column(text: str, name: str, value: int | str) -> int:
    """A whole number from an export column: an int, ``"19,149"`` or ``"2024.0"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise SerialError.at(text, str(value), name, "is negative")
        return value
    cell = str(value).strip().replace(",", "")
    whole, dot, fraction = cell.partition(".")
    if dot and fraction.strip("0"):
        raise SerialError.at(text, str(value), name, "is not a whole number")
    return number(text, whole, name)


def _check(text: str, name: str, given: int | str | None, stated: int) -> None:
    if given is None:
        return
    value = _column(text, name, given)
    if value != stated:
        raise SerialError.at(text, str(given), name, f"disagrees with the serial ({stated})")


#: The one Gold Standard grammar instance the registry uses.
GOLD_STANDARD: Final = GoldStandardGrammar()
