"""ART TREES serials, including FCPF units held in the ART registry.

Token by token (read from the real ART retirement and cancellation exports)::

    ART-GY-102-2021-11-2759599 to 2760598
    FCPF-CI-130-2023-20-1 to 46404
    program-country-program id-vintage-batch-start to end

The program id matches the export's ``Program ID`` (``ART102``, ``ART130``) for both kinds,
so ``project_id`` is ``ART<id>`` for both. Units whose serial starts with ``FCPF`` are emission
reductions of the World Bank's FCPF Carbon Fund that the ART registry holds (their
``Crediting Program and Standard`` is "FCPF - Carbon Fund Methodological Framework"). They are
not TREES credits, so they get a scheme of their own, ``fcpf``, and can never be mistaken for
ART credits with the same numbers; ART credits get ``art``.

Scope (our choice, from the serials): the batch token. Numbering restarts at 1 in a batch
(``ART-GY-102-2016-9-1 to 1400``, ``FCPF-CI-130-2023-20-1 to 46404``), and the batch numbers
form one registry-wide sequence across programs and across ART and FCPF units (3, 9 and 11
for ART102; 13 for FCPF126; 18 to 21 for FCPF130): no batch number is used by two programs.
This is the same rule as ACR and CAR, whose registries run on the same platform. The vintage
year becomes ``YYYY-01-01 .. YYYY-12-31``. A serial without ``to`` names one unit.
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
    r"(ART|FCPF)-([A-Z]{2})-(\d+)-(\d{4})-(\d+)-(\d+)(?: to (\d+))?", re.ASCII
)
_FIELDS: Final = ("program", "country", "program_id", "vintage", "batch", "block_start")
#: Serial prefix -> scheme.
PROGRAMS: Final = {"ART": "art", "FCPF": "fcpf"}


class ArtGrammar:
    """``<ART|FCPF>-<country>-<program id>-<vintage>-<batch>-<start> to <end>``."""

    family = "art"

    def match(self, text: str) -> bool:
        return text.startswith(("ART-", "FCPF-"))

    def parse(self, text: str) -> ParsedSerial:
        """One regex match for a well-formed serial; :meth:`read_tokens` for the rest."""
        shape = _SHAPE.fullmatch(text)
        if shape is None:
            return self.read_tokens(text)
        program, country, program_id, year, batch, first, last = shape.groups()
        start = int(first)
        end = start if last is None else int(last)
        if start > end or end > MAX_BLOCK_NUMBER or year == "0000":
            return self.read_tokens(text)
        return _result(program, country, program_id, year, batch, start, end)

    def read_tokens(self, text: str) -> ParsedSerial:
        """The token-by-token reader: the reference for :meth:`parse`, and its errors."""
        head, end = split_range(text, text)
        tokens = head.split("-")
        need(text, tokens, len(_FIELDS), _FIELDS)
        program = tokens[0]
        if program not in PROGRAMS:
            raise SerialError.at(text, program, "program", "is not ART or FCPF")
        program_id = digits(text, tokens[2], "program_id")
        vintage_year(text, tokens[3])
        batch = digits(text, tokens[4], "batch")
        start, last = block_range(text, tokens[5], tokens[5] if end is None else end)
        return _result(program, country(text, tokens[1]), program_id, tokens[3], batch, start, last)


def _result(
    program: str, country: str, program_id: str, year: str, batch: str, start: int, end: int
) -> ParsedSerial:
    return ParsedSerial(
        "art",
        PROGRAMS[program],
        batch,
        start,
        end,
        project_id="ART" + program_id,
        vintage_start=year + "-01-01",
        vintage_end=year + "-12-31",
        country=country,
        batch=batch,
        extras=(("program", program),),
    )


#: The one ART grammar instance the registry uses.
ART: Final = ArtGrammar()
