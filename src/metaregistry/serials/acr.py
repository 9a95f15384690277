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

from typing import Final

from metaregistry.serials.parsed import ParsedSerial
from metaregistry.serials.tokens import (
    block_range,
    country,
    digits,
    need,
    split_range,
    vintage_year,
)

_FIELDS: Final = ("program", "country", "project_id", "vintage", "batch", "block_start")


class AcrGrammar:
    """``ACR-<country>-<project>-<vintage>-<batch>-<start> to <end>``."""

    family = "acr"

    def match(self, text: str) -> bool:
        return text.startswith("ACR-")

    def parse(self, text: str) -> ParsedSerial:
        head, end = split_range(text, text)
        tokens = head.split("-")
        need(text, tokens, len(_FIELDS), _FIELDS)
        project = digits(text, tokens[2], "project_id")
        vintage_start, vintage_end = vintage_year(text, tokens[3])
        batch = digits(text, tokens[4], "batch")
        start, last = block_range(text, tokens[5], tokens[5] if end is None else end)
        return ParsedSerial(
            family=self.family,
            scheme="acr",
            scope=batch,
            block_start=start,
            block_end=last,
            project_id="ACR" + project,
            vintage_start=vintage_start,
            vintage_end=vintage_end,
            country=country(text, tokens[1]),
            batch=batch,
        )


#: The one ACR grammar instance the registry uses.
ACR: Final = AcrGrammar()
