"""Serial grammars: turn a registry's serial into the range of units it names.

    >>> p = parse_serial("GS1-1-UG-GS11236-16-2024-30307-1-19149")
    >>> (p.scheme, p.scope, p.block_start, p.block_end, p.quantity)
    ('gs', '30307', 1, 19149, 19149)

Every grammar reads its serial token by token (never by counting dashes) and returns a
``ParsedSerial``: ``scheme``/``scope``/``block_start``/``block_end`` identify the units
(DOMAIN.md, "Numbering rules"), the other fields are what the serial states about them.

Built-in families, tried in this order (one module each):

=======================  ========  ============================================  ==========
family                   scheme    scope                                         module
=======================  ========  ============================================  ==========
``verra``                vcs       ``""`` (registry-wide numbering)              verra
``verra-legacy``         vcs       ``"legacy"`` (APX/Markit numbering)           verra
``gold-standard``        gs        issuance batch                                gold_standard
``cdm``                  cdm       party and unit type, ``RW-5``                 cdm
``acr``                  acr       issuance batch                                acr
``car``                  car       issuance batch                                car
``art``                  art/fcpf  issuance batch                                art
``cercarbono``           cercarbono the batch serial (``CDC_…``)                cercarbono
=======================  ========  ============================================  ==========

``cercarbono`` reads the positioned form ``<CDC serial> <from> to <to>`` (scheme
``cercarbono``). Bare batch identifiers, a Cercarbono serial or a Regen Ledger batch denom
(``C01-001-20150101-20151231-001``), name no units: ``serials.batches.explain_batch`` reads them
(``parse-serial`` prints them with ``numbered`` false).

Then the formats the mock registries define, registered by module ``national`` when this
package is imported: ``spe-grk`` (SRN-PPI), ``tver`` (TCCR) and ``jcm``.

Every built-in grammar parses a well-formed serial with one precompiled regex and hands
anything else to its token-by-token reader (``read_tokens``), which is the reference the
tests hold the fast path to and the only place error messages come from. A parse costs a few
microseconds; no pattern is compiled per call.

``parse_gs_columns`` reads Gold Standard exports that give the range in columns (family
``gold-standard-columns``) and checks a row's columns against its serial.

Errors: one class, ``SerialError(ValueError)``, raised for any serial that cannot be read:
empty, longer than 512 characters, of no known format, or with a token that is missing,
extra, not a number, out of range (block numbers above 2**63-1, a block start after its end,
a date that does not exist). It carries ``serial``, ``token`` (the failing token or None),
``field`` and ``reason``; ``str()`` reads ``cannot parse serial '<serial>': <reason>``.
Asking for a family that is not registered is a plain ``ValueError``.

Adding a grammar (the mock registries' SRN-PPI, TCCR and JCM formats do this): write a class
with ``family``, a cheap ``match(text) -> bool`` that only looks at a prefix or a marker
token, and ``parse(text) -> ParsedSerial`` built with the readers in
``metaregistry.serials.tokens`` (they raise the right ``SerialError``), then call
``register_grammar(MyGrammar())`` at import time of the module that defines it::

    from metaregistry.serials import ParsedSerial, register_grammar
    from metaregistry.serials.tokens import block_range, digits, need, split_range

    class TverGrammar:
        family = "tver"

        def match(self, text: str) -> bool:
            return text.startswith("TVER-")

        def parse(self, text: str) -> ParsedSerial:
            ...

    register_grammar(TverGrammar())

A grammar added later is tried after the built-in ones, so its ``match`` must not accept a
shape an earlier grammar reads (all built-ins start with a digit, ``GS<n>-``, two letters and
a dash, ``ACR-``, ``CAR-``, ``ART-``, ``FCPF-`` or ``CDC_``). Document the scheme and the
scope choice in the grammar's module docstring.
"""

# The national grammars (SPE-GRK, T-VER, JCM) register themselves on import; importing them
# here makes every process (pipeline, API lookups, CLI) read the same serials, not only those
# that happened to import a national connector first. Built-in grammars still come first.
from metaregistry.serials import national  # noqa: F401
from metaregistry.serials.gold_standard import parse_gs_columns
from metaregistry.serials.parsed import (
    MAX_BLOCK_NUMBER,
    MAX_SERIAL_LENGTH,
    ParsedSerial,
    SerialError,
)
from metaregistry.serials.registry import Grammar, grammars, parse_serial, register_grammar

__all__ = [
    "MAX_BLOCK_NUMBER",
    "MAX_SERIAL_LENGTH",
    "Grammar",
    "ParsedSerial",
    "SerialError",
    "grammars",
    "parse_gs_columns",
    "parse_serial",
    "register_grammar",
]
