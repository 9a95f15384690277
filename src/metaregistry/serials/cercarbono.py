"""Cercarbono serials, as EcoRegistry publishes them.

Token by token (read from the real EcoRegistry exports in OffsetsDB's fixtures)::

    CDC_1_1_1_321_14_1_2009
    CDC_4_1_1_321_14_R1_XX_CO_1_2_BFC_2018
    CDC_7_3_1_323_14_CO_1_2_2019_BF
    program_project_code_code_code_sector_[qualifiers_]sequence[_BFC][_year][_BF]

* ``CDC`` is the program; the next token is the project number (``CDC_7_…`` are the
  retirements of project 7, ``https://www.ecoregistry.io/projects/7``), so ``project_id`` is
  ``CDC7``. Three numeric codes follow (``1_1_321``, ``3_1_323``, ``1_29_321``; meaning not
  published, kept as ``codes``), then the sector id (``14`` = "Land use (AFOLU)" in the
  project list's ``sectors``).
* The last number before the optional flags is a sequence (``sequence``): it equals the
  export's ``verification`` column on 96 of the 100 sampled issuances; the four rows of
  project 10's fourth verification carry 3 (``CDC_10_1_1_321_14_CO_1_3_2018``), so it is kept
  as the serial states it and never taken for the verification. Between the sector and it sit
  optional qualifiers: a revision (``R1``; the contract notes of other readers see ``R6`` and
  ``R7`` for re-published serials), a two-letter code (``XX``, ``XA``), a country (``CO``)
  and a number; the country is the two-letter token followed by a number.
* ``BFC`` before the year or ``BF`` at the end marks the buffer (``is_buffer`` True on every
  such row, False on every other); the year is the vintage year when the serial names one
  (``year`` column).

A serial names an issuance *batch*; EcoRegistry numbers the units inside it by position, and
its retirement rows give the positions in ``from``/``to`` columns. Positions start at 0 in the
oldest batches (``CDC_1_1_1_321_14_1``: 0-999 and 1000-62739 for 62,740 units) and at 1 in the
others (``CDC_1_1_1_321_14_1_2009``: 1-1655 ... 4426-4971 for 4,971), so they are only
comparable inside one serial: the scope is the batch serial, the scheme ``cercarbono``.

This grammar reads the positioned form ``<serial> <from> to <to>`` (``<serial> <position>``
for one unit), the form metaregistry stores for a retirement row. A bare serial names no
units: :func:`parse_cdc_batch` reads it (``parse-serial`` explains it that way), and
:func:`parse_cdc_columns` builds the positioned form from an export row's columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from metaregistry.serials.parsed import MAX_SERIAL_LENGTH, ParsedSerial, SerialError
from metaregistry.serials.tokens import block_range, digits, is_digits, split_range

__all__ = ["CERCARBONO", "CdcBatch", "parse_cdc_batch", "parse_cdc_columns"]

_PROGRAM: Final = "CDC"
_CODES: Final = ("code_1", "code_2", "code_3")
_QUALIFIER: Final = re.compile(r"[A-Z0-9]{1,8}", re.ASCII)
_YEAR: Final = re.compile(r"(19|20)\d\d", re.ASCII)
_TWO_LETTERS: Final = re.compile(r"[A-Z]{2}", re.ASCII)
#: Placeholder codes EcoRegistry writes where a country code could stand.
_NOT_COUNTRIES: Final = frozenset({"XX", "XA"})


@dataclass(frozen=True, slots=True)
class CdcBatch:
    """What a bare Cercarbono serial states about its batch."""

    serial: str
    project: str
    codes: tuple[str, str, str]
    sector: str
    qualifiers: tuple[str, ...]
    sequence: str
    vintage_year: str | None
    buffer: bool
    country: str | None

    @property
    def project_id(self) -> str:
        return _PROGRAM + self.project

    def extras(self) -> tuple[tuple[str, str], ...]:
        out = [("codes", "_".join(self.codes)), ("sector", self.sector)]
        if self.qualifiers:
            out.append(("qualifiers", "_".join(self.qualifiers)))
        out.append(("sequence", self.sequence))
        out.append(("buffer", "yes" if self.buffer else "no"))
        return tuple(out)


def parse_cdc_batch(text: str) -> CdcBatch:
    """Read a bare serial (``CDC_1_1_1_321_14_1_2009``); ``SerialError`` names the token."""
    tokens = text.split("_")
    if tokens[0] != _PROGRAM:
        raise SerialError.at(text, tokens[0], "program", "is not CDC")
    if len(tokens) < 7:
        fields = ("program", "project", *_CODES, "sector", "sequence")
        raise SerialError.missing(text, fields[len(tokens)])
    project = digits(text, tokens[1], "project")
    codes = (
        digits(text, tokens[2], "code_1"),
        digits(text, tokens[3], "code_2"),
        digits(text, tokens[4], "code_3"),
    )
    sector = digits(text, tokens[5], "sector")
    rest = tokens[6:]
    buffer = False
    year: str | None = None
    if rest[-1] == "BF":
        buffer = True
        rest.pop()
    if rest and _YEAR.fullmatch(rest[-1]):
        year = rest.pop()
    if rest and rest[-1] == "BFC":
        buffer = True
        rest.pop()
    if not rest:
        raise SerialError.missing(text, "sequence")
    sequence = digits(text, rest.pop(), "sequence")
    country: str | None = None
    for index, token in enumerate(rest):
        if not _QUALIFIER.fullmatch(token):
            raise SerialError.at(text, token, "qualifier", "is not a code such as R1, XX or CO")
        following = rest[index + 1] if index + 1 < len(rest) else sequence
        if _TWO_LETTERS.fullmatch(token) and token not in _NOT_COUNTRIES and is_digits(following):
            country = token
    return CdcBatch(
        serial=text,
        project=project,
        codes=codes,
        sector=sector,
        qualifiers=tuple(rest),
        sequence=sequence,
        vintage_year=year,
        buffer=buffer,
        country=country,
    )


class CercarbonoGrammar:
    """``<CDC serial> <from> to <to>``: unit positions inside one Cercarbono batch."""

    family = "cercarbono"

    def match(self, text: str) -> bool:
        return text.startswith("CDC_")

    def parse(self, text: str) -> ParsedSerial:
        head, end = split_range(text, text)
        serial, space, first = head.rpartition(" ")
        if not space:
            raise SerialError(
                text,
                None,
                "missing token (block start): a Cercarbono serial names a batch; give the "
                "unit positions as '<serial> <from> to <to>'",
                "block_start",
            )
        try:
            batch = parse_cdc_batch(serial.strip())
        except SerialError as error:  # name the serial as given, positions included
            raise SerialError(text, error.token, error.reason, error.field) from None
        start, last = block_range(text, first, first if end is None else end)
        return _result(batch, start, last)


def _result(batch: CdcBatch, start: int, end: int) -> ParsedSerial:
    year = batch.vintage_year
    return ParsedSerial(
        "cercarbono",
        "cercarbono",
        batch.serial,
        start,
        end,
        project_id=batch.project_id,
        vintage_start=None if year is None else year + "-01-01",
        vintage_end=None if year is None else year + "-12-31",
        country=batch.country,
        batch=batch.sequence,
        extras=batch.extras(),
    )


def parse_cdc_columns(
    serial: str, start: int | str, end: int | str, quantity: int | str | None = None
) -> tuple[str, ParsedSerial]:
    """The positioned form of an export row (``serial``, ``from``, ``to``, ``quantity``
    columns) and what it parses to. Raises ``SerialError`` naming the column that is not a
    position, or ``quantity`` when it disagrees with the positions."""
    text = serial.strip()
    if len(text) > MAX_SERIAL_LENGTH:
        raise SerialError(text, None, f"is longer than {MAX_SERIAL_LENGTH} characters")
    first, last = str(start).strip(), str(end).strip()
    positioned = f"{text} {first} to {last}"
    batch = parse_cdc_batch(text)
    low, high = block_range(positioned, first, last)
    parsed = _result(batch, low, high)
    if quantity is not None and str(quantity).strip() != str(parsed.quantity):
        raise SerialError.at(
            positioned,
            str(quantity),
            "quantity",
            f"does not match positions {low}-{high} ({parsed.quantity} units)",
        )
    return positioned, parsed


#: The one Cercarbono grammar instance the registry uses.
CERCARBONO: Final = CercarbonoGrammar()
