"""American Carbon Registry serials.

Token by token (read from the real ACR retirement and cancellation exports)::

    ACR-US-1185-2025-3078-1 to 85847
    ACR-country-project-vintage-batch-start to end

The project token matches the export's ``Project ID`` (``ACR1185``), the vintage its
``Vintage`` column, the country its ``Project Site Country``. Numbering restarts at 1 in every
issuance batch (``...-3078-1 to 85847``), so the scope is the batch. The vintage is a year and
becomes ``YYYY-01-01 .. YYYY-12-31``; ACR's own vintage assignment period is in other columns.
A serial without ``to`` names one unit.
"""

from __future__ import annotations

import re
from typing import Final

from metaregistry.serials.parsed import MAX_BLOCK_NUMBER, ParsedSerial
from metaregistry.serials.tokens import (
    block_range,
    country,
    digits,
    need,
    split_range,
    vintage_year,
)

_SHAPE: Final = re.compile(r"ACR-([A-Z]{2})-(\d+)-(\d{4})-(\d+)-(\d+)(?: to (\d+))?", re.ASCII)
_FIELDS: Final = ("program", "country", "project_id", "vintage", "batch", "block_start")


class AcrGrammar:
    """``ACR-<country>-<project>-<vintage>-<batch>-<start> to <end>``."""

    family = "acr"

    def match(self, text: str) -> bool:
        return text.startswith("ACR-")

    def parse(self, text: str) -> ParsedSerial:
        """One regex match for a well-formed serial; :meth:`read_tokens` for the rest."""
        shape = _SHAPE.fullmatch(text)
        if shape is None:
            return self.read_tokens(text)
        country, project, year, batch, first, last = shape.groups()
        start = int(first)
        end = start if last is None else int(last)
        if start > end or end > MAX_BLOCK_NUMBER or year == "0000":
            return self.read_tokens(text)
        return _result(country, project, year, batch, start, end)

    def read_tokens(self, text: str) -> ParsedSerial:
        """The token-by-token reader: the reference for :meth:`parse`, and its errors."""
        head, end = split_range(text, text)
        tokens = head.split("-")
        need(text, tokens, len(_FIELDS), _FIELDS)
        project = digits(text, tokens[2], "project_id")
        vintage_year(text, tokens[3])
        batch = digits(text, tokens[4], "batch")
        start, last = block_range(text, tokens[5], tokens[5] if end is None else end)
        return _result(country(text, tokens[1]), project, tokens[3], batch, start, last)


def _result(
    country: str, project: str, year: str, batch: str, start: int, end: int
) -> ParsedSerial:
    return ParsedSerial(
        "acr",
        "acr",
        batch,
        start,
        end,
        project_id="ACR" + project,
        vintage_start=year + "-01-01",
        vintage_end=year + "-12-31",
        country=country,
        batch=batch,
    )


#: The one ACR grammar instance the registry uses.
ACR: Final = AcrGrammar()
