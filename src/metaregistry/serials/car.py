"""Climate Action Reserve serials.

Token by token (read from the real CAR retirement and cancellation exports)::

    CAR-1-US-1335-31-983-KS-2025-9205-1 to 5000
    CAR-unit type-country-project-project type code-developer code-state-vintage-batch-
    start to end

The unit type is ``1`` for Climate Reserve Tonnes and ``ROC`` for Registry Offset Credits
(the ``ROC`` rows are all ARB / WA ECO compliance project types). The project type code
follows the export's ``Project Type`` (31 = nitric acid tertiary catalyst, 42 = Mexican
forestry, 129 = ARB mine methane). The next token is shared by projects of one developer
(1156 for CAR1480 and CAR1624, both Ascend Performance Materials; 2283 for CAR2056 and
CAR2057, both Keyrock Energy), so it is kept as ``developer_code`` (inferred, not documented).
The state token is the project site's state or Mexican state abbreviation.

Numbering restarts at 1 in every issuance batch, so the scope is the batch; the batch numbers
of both unit types come from one sequence (no batch number holds both in the sample). The
vintage year becomes ``YYYY-01-01 .. YYYY-12-31``. A serial without ``to`` names one unit.
"""

from __future__ import annotations

import re
from typing import Final

from metaregistry.serials.parsed import MAX_BLOCK_NUMBER, ParsedSerial, SerialError
from metaregistry.serials.tokens import (
    block_range,
    country,
    digits,
    need,
    split_range,
    vintage_year,
)

_SHAPE: Final = re.compile(
    r"CAR-([A-Za-z0-9]+)-([A-Z]{2})-(\d+)-(\d+)-(\d+)-([A-Z]+)-(\d{4})-(\d+)-(\d+)"
    r"(?: to (\d+))?",
    re.ASCII,
)
_FIELDS: Final = (
    "program",
    "unit_type",
    "country",
    "project_id",
    "project_type_code",
    "developer_code",
    "state",
    "vintage",
    "batch",
    "block_start",
)


class CarGrammar:
    """``CAR-<unit type>-<country>-<project>-<type>-<developer>-<state>-<vintage>-<batch>-``
    ``<start> to <end>``."""

    family = "car"

    def match(self, text: str) -> bool:
        return text.startswith("CAR-")

    def parse(self, text: str) -> ParsedSerial:
        """One regex match for a well-formed serial; :meth:`read_tokens` for the rest."""
        shape = _SHAPE.fullmatch(text)
        if shape is None:
            return self.read_tokens(text)
        unit_type, country, project, type_code, developer, state, year, batch, first, last = (
            shape.groups()
        )
        start = int(first)
        end = start if last is None else int(last)
        if start > end or end > MAX_BLOCK_NUMBER or year == "0000":
            return self.read_tokens(text)
        return _result(
            unit_type, country, project, type_code, developer, state, year, batch, start, end
        )

    def read_tokens(self, text: str) -> ParsedSerial:
        """The token-by-token reader: the reference for :meth:`parse`, and its errors."""
        head, end = split_range(text, text)
        tokens = head.split("-")
        need(text, tokens, len(_FIELDS), _FIELDS)
        unit_type = tokens[1]
        if not (unit_type.isalnum() and unit_type.isascii()):
            raise SerialError.at(
                text, unit_type, "unit_type", "is not a unit type such as 1 or ROC"
            )
        project = digits(text, tokens[3], "project_id")
        type_code = digits(text, tokens[4], "project_type_code")
        developer = digits(text, tokens[5], "developer_code")
        state = tokens[6]
        if not (state.isalpha() and state.isascii() and state.isupper()):
            raise SerialError.at(text, state, "state", "is not a state abbreviation")
        vintage_year(text, tokens[7])
        batch = digits(text, tokens[8], "batch")
        start, last = block_range(text, tokens[9], tokens[9] if end is None else end)
        return _result(
            unit_type, country(text, tokens[2]), project, type_code, developer, state,
            tokens[7], batch, start, last,
        )  # fmt: skip


def _result(
    unit_type: str,
    country: str,
    project: str,
    type_code: str,
    developer: str,
    state: str,
    year: str,
    batch: str,
    start: int,
    end: int,
) -> ParsedSerial:
    return ParsedSerial(
        "car",
        "car",
        batch,
        start,
        end,
        project_id="CAR" + project,
        vintage_start=year + "-01-01",
        vintage_end=year + "-12-31",
        country=country,
        batch=batch,
        extras=(
            ("unit_type", unit_type),
            ("project_type_code", type_code),
            ("developer_code", developer),
            ("state", state),
        ),
    )


#: The one CAR grammar instance the registry uses.
CAR: Final = CarGrammar()
