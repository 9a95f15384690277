"""CDM / Kyoto unit serials, as they appear in Gold Standard exports.

Token by token (DOMAIN.md, "Serial formats")::

    RW-5-1463953-2-2-0-7014 - RW-5-1467609-2-2-0-7014
    party-unit type-serial-original commitment period-applicable commitment period-
    LULUCF activity-project

A range is two full serials joined by `` - ``; both must agree on every token but the serial
number. A single serial names one unit. Kyoto serial numbers are unique per originating party
and unit type, so the scope is ``<party>-<unit type>`` (``RW-5``). The unit type names follow
the Kyoto data exchange standard (5 = CER: inferred, DOMAIN.md). The party of a CER is the
host party, so it is also the country.
"""

from __future__ import annotations

import re
from typing import Final

from metaregistry.serials.parsed import MAX_BLOCK_NUMBER, ParsedSerial, SerialError
from metaregistry.serials.tokens import block_range, country, digits

_FIELDS: Final = (
    "party",
    "unit_type",
    "serial",
    "original_commitment_period",
    "applicable_commitment_period",
    "lulucf_activity",
    "project_id",
)
#: Kyoto data exchange standard unit types.
UNIT_TYPES: Final = {
    "1": "AAU",
    "2": "RMU",
    "3": "ERU",
    "4": "ERU",
    "5": "CER",
    "6": "tCER",
    "7": "lCER",
}
# Spaces around the dash are what set the range apart from the dashes inside each serial.
# ASCII whitespace only, in both readers, so they agree on what separates the two ends.
_RANGE_DASH: Final = re.compile(r"\s+-\s+", re.ASCII)
# A well-formed serial or range; the back-references make the range end repeat every token
# of the start but the serial number.
_SHAPE: Final = re.compile(
    r"([A-Z]{2})-(\d+)-(\d+)-(\d+)-(\d+)-(\d+)-(\d+)(?:\s+-\s+\1-\2-(\d+)-\4-\5-\6-\7)?",
    re.ASCII,
)


class CdmGrammar:
    """``<party>-<type>-<serial>-<cp>-<cp>-<lulucf>-<project>``, alone or as ``A - B``."""

    family = "cdm"

    def match(self, text: str) -> bool:
        return text[2:3] == "-" and text[:2].isalpha() and text[3:4].isdigit()

    def parse(self, text: str) -> ParsedSerial:
        """One regex match for a well-formed serial; :meth:`read_tokens` for the rest."""
        shape = _SHAPE.fullmatch(text)
        if shape is None:
            return self.read_tokens(text)
        party, unit_type, first, cp1, cp2, lulucf, project, last = shape.groups()
        start = int(first)
        end = start if last is None else int(last)
        if start > end or end > MAX_BLOCK_NUMBER:
            return self.read_tokens(text)
        return _result(party, unit_type, cp1, cp2, lulucf, project, start, end)

    def read_tokens(self, text: str) -> ParsedSerial:
        """The token-by-token reader: the reference for :meth:`parse`, and its errors."""
        ends = _RANGE_DASH.split(text)
        if len(ends) > 2:
            raise SerialError(text, ends[2], f"unexpected third serial {ends[2]!r} in the range")
        first = _tokens(text, ends[0], at_end=False)
        last = _tokens(text, ends[1], at_end=True) if len(ends) == 2 else first
        for index, (mine, theirs) in enumerate(zip(first, last, strict=True)):
            if index != 2 and mine != theirs:
                field = _FIELDS[index]
                raise SerialError.at(
                    text, theirs, field, f"at range end differs from {mine!r} at range start"
                )
        start, end = block_range(text, first[2], last[2])
        return _result(first[0], first[1], first[3], first[4], first[5], first[6], start, end)


def _result(
    party: str,
    unit_type: str,
    original_period: str,
    applicable_period: str,
    lulucf: str,
    project: str,
    start: int,
    end: int,
) -> ParsedSerial:
    return ParsedSerial(
        "cdm",
        "cdm",
        f"{party}-{unit_type}",
        start,
        end,
        project_id="CDM" + project,
        country=party,
        extras=(
            ("unit_type", UNIT_TYPES.get(unit_type, unit_type)),
            ("unit_type_code", unit_type),
            ("original_commitment_period", original_period),
            ("applicable_commitment_period", applicable_period),
            ("lulucf_activity", lulucf),
        ),
    )


def _tokens(text: str, serial: str, at_end: bool) -> list[str]:
    """Check one full Kyoto serial's tokens; ``at_end`` when it is the end of a range."""
    where = " at range end" if at_end else ""
    fields = list(_FIELDS)
    fields[2] = "block_end" if at_end else "block_start"
    tokens = serial.split("-")
    if len(tokens) < len(fields):
        field = fields[len(tokens)]
        label = field.replace("_", " ")
        raise SerialError(text, None, f"missing token ({label}{where})", field)
    if len(tokens) > len(fields):
        extra = tokens[len(fields)]
        raise SerialError(text, extra, f"unexpected token {extra!r} after project id{where}")
    country(text, tokens[0], "party")
    for index in range(1, len(fields)):
        digits(text, tokens[index], fields[index])
    return tokens


#: The one CDM grammar instance the registry uses.
CDM: Final = CdmGrammar()
