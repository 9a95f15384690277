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

from typing import Final

from metaregistry.serials.parsed import ParsedSerial, SerialError
from metaregistry.serials.tokens import (
    block_range,
    country,
    digits,
    need,
    split_range,
    vintage_year,
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
        head, end = split_range(text, text)
        tokens = head.split("-")
        need(text, tokens, len(_FIELDS), _FIELDS)
        program = tokens[0]
        scheme = PROGRAMS.get(program)
        if scheme is None:
            raise SerialError.at(text, program, "program", "is not ART or FCPF")
        program_id = digits(text, tokens[2], "program_id")
        vintage_start, vintage_end = vintage_year(text, tokens[3])
        batch = digits(text, tokens[4], "batch")
        start, last = block_range(text, tokens[5], tokens[5] if end is None else end)
        return ParsedSerial(
            family=self.family,
            scheme=scheme,
            scope=batch,
            block_start=start,
            block_end=last,
            project_id="ART" + program_id,
            vintage_start=vintage_start,
            vintage_end=vintage_end,
            country=country(text, tokens[1]),
            batch=batch,
            extras=(("program", program),),
        )


#: The one ART grammar instance the registry uses.
ART: Final = ArtGrammar()
