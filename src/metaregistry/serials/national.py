"""Serial grammars of the national and bilateral registries: SPE-GRK (SRN-PPI, Indonesia),
T-VER (TCCR, Thailand) and JCM.

None of these registries publishes a serial format (DOMAIN.md), so the mock registries define
one each; the connector READMEs document them for users. Token by token::

    IDN-SPEGRK-PPI2021000412-2023-000017-1-5000
    party-unit type-project-vintage-batch-start-end               scheme spe-grk, scope batch

    TVER-P-0412-2566-00045-1-1916
    programme-class-project-vintage (Buddhist era)-batch-start-end  scheme tver, scope batch

    JCM-ID-ID012-2022-0007-1-600
    mechanism-partner-project-vintage-issuance-start-end        scheme jcm, scope partner-issuance

Scope choices (what makes a unit number unique inside the scheme):

* ``spe-grk``: SRN-PPI numbers units from 1 in every issuance (as Gold Standard does), and
  issuance numbers are registry-wide, so the scope is the batch (``000017``).
* ``tver``: TCCR numbers from 1 in every issuance; issuance numbers are shared by Standard and
  Premium T-VER, so the scope is the batch (``00045``) and the class is an extra.
* ``jcm``: one numbering per issuance, shared by Japan's and the partner's ledgers (each holds
  a disjoint share sub-range); issuance numbers are counted per partnership, so the scope is
  ``<partner>-<issuance>`` (``ID-0007``).

T-VER serials carry the vintage in the Buddhist era (B.E. = C.E. + 543): ``2566`` is 2023. A
year before B.E. 2500 (C.E. 1957) is rejected, which catches a C.E. year typed by mistake.

Importing this module registers the three grammars with :func:`register_grammar`; the
``format_*`` functions write serials (the scenario generator uses them) and round-trip with
the grammars.
"""

from __future__ import annotations

from typing import Final

from metaregistry.serials.parsed import ParsedSerial, SerialError
from metaregistry.serials.registry import register_grammar
from metaregistry.serials.tokens import block_range, country, digits, need, vintage_year

__all__ = [
    "BUDDHIST_ERA_OFFSET",
    "JCM",
    "SPE_GRK",
    "TVER",
    "format_jcm",
    "format_spe_grk",
    "format_tver",
]

#: B.E. year = C.E. year + 543.
BUDDHIST_ERA_OFFSET: Final = 543
_MIN_BE_YEAR: Final = 2500

_SPE_GRK_FIELDS: Final = (
    "party",
    "unit_type",
    "project_id",
    "vintage",
    "batch",
    "block_start",
    "block_end",
)
_TVER_FIELDS: Final = (
    "programme",
    "class",
    "project_id",
    "vintage",
    "batch",
    "block_start",
    "block_end",
)
_JCM_FIELDS: Final = (
    "mechanism",
    "partner",
    "project_id",
    "vintage",
    "issuance",
    "block_start",
    "block_end",
)
_TVER_CLASSES: Final = {"P": "premium", "S": "standard"}


def _fixed(serial: str, token: str, field: str, expected: str) -> None:
    if token != expected:
        raise SerialError.at(serial, token, field, f"is not {expected!r}")


def _alnum(serial: str, token: str, field: str) -> str:
    if not token or not (token.isalnum() and token.isascii()):
        raise SerialError.at(serial, token, field, "is not letters and digits")
    return token


def _sized_digits(serial: str, token: str, field: str, size: int) -> str:
    """A number zero-padded to at least ``size`` digits; it grows past ``size`` digits once
    the registry outgrows the padding (a 1M-record world reaches JCM issuance 10000), but
    then without leading zeros, so every number has one spelling (and one scope)."""
    digits(serial, token, field)
    if len(token) < size:
        raise SerialError.at(serial, token, field, f"is not zero-padded to {size} digits")
    if len(token) > size and token.startswith("0"):
        raise SerialError.at(serial, token, field, f"has more than {size} digits and a leading 0")
    return token


class SpeGrkGrammar:
    """``IDN-SPEGRK-<project>-<vintage>-<batch>-<start>-<end>`` (SRN-PPI)."""

    family = "spe-grk"

    def match(self, text: str) -> bool:
        return text.startswith("IDN-SPEGRK-")

    def parse(self, text: str) -> ParsedSerial:
        tokens = text.split("-")
        need(text, tokens, len(_SPE_GRK_FIELDS), _SPE_GRK_FIELDS)
        _fixed(text, tokens[0], "party", "IDN")
        _fixed(text, tokens[1], "unit_type", "SPEGRK")
        project = _alnum(text, tokens[2], "project_id")
        vintage_start, vintage_end = vintage_year(text, tokens[3])
        batch = _sized_digits(text, tokens[4], "batch", 6)
        start, end = block_range(text, tokens[5], tokens[6])
        return ParsedSerial(
            family=self.family,
            scheme="spe-grk",
            scope=batch,
            block_start=start,
            block_end=end,
            project_id=project,
            vintage_start=vintage_start,
            vintage_end=vintage_end,
            country="ID",
            batch=batch,
            extras=(("unit_type", "SPEGRK"),),
        )


class TverGrammar:
    """``TVER-<P|S>-<project>-<vintage B.E.>-<batch>-<start>-<end>`` (TCCR)."""

    family = "tver"

    def match(self, text: str) -> bool:
        return text.startswith("TVER-")

    def parse(self, text: str) -> ParsedSerial:
        tokens = text.split("-")
        need(text, tokens, len(_TVER_FIELDS), _TVER_FIELDS)
        _fixed(text, tokens[0], "programme", "TVER")
        klass = _TVER_CLASSES.get(tokens[1])
        if klass is None:
            raise SerialError.at(text, tokens[1], "class", "is not P (Premium) or S (Standard)")
        project = _sized_digits(text, tokens[2], "project_id", 4)
        vintage = _be_year(text, tokens[3])
        vintage_start, vintage_end = vintage_year(text, str(vintage))
        batch = _sized_digits(text, tokens[4], "batch", 5)
        start, end = block_range(text, tokens[5], tokens[6])
        return ParsedSerial(
            family=self.family,
            scheme="tver",
            scope=batch,
            block_start=start,
            block_end=end,
            project_id=f"TVER-{tokens[1]}-{project}",
            vintage_start=vintage_start,
            vintage_end=vintage_end,
            country="TH",
            batch=batch,
            extras=(("class", klass), ("vintage_be", tokens[3])),
        )


def _be_year(serial: str, token: str) -> int:
    """A Buddhist-era year token as the common-era year."""
    if len(token) != 4 or not (token.isdigit() and token.isascii()):
        raise SerialError.at(serial, token, "vintage", "is not a four-digit Buddhist-era year")
    year = int(token)
    if year < _MIN_BE_YEAR:
        raise SerialError.at(
            serial, token, "vintage", f"is before B.E. {_MIN_BE_YEAR} (a common-era year?)"
        )
    return year - BUDDHIST_ERA_OFFSET


class JcmGrammar:
    """``JCM-<partner>-<project>-<vintage>-<issuance>-<start>-<end>`` (every JCM ledger)."""

    family = "jcm"

    def match(self, text: str) -> bool:
        return text.startswith("JCM-")

    def parse(self, text: str) -> ParsedSerial:
        tokens = text.split("-")
        need(text, tokens, len(_JCM_FIELDS), _JCM_FIELDS)
        _fixed(text, tokens[0], "mechanism", "JCM")
        partner = country(text, tokens[1], "partner")
        project = _alnum(text, tokens[2], "project_id")
        if not project.startswith(partner):
            raise SerialError.at(
                text, project, "project_id", f"does not start with the partner {partner!r}"
            )
        vintage_start, vintage_end = vintage_year(text, tokens[3])
        issuance = _sized_digits(text, tokens[4], "issuance", 4)
        start, end = block_range(text, tokens[5], tokens[6])
        return ParsedSerial(
            family=self.family,
            scheme="jcm",
            scope=f"{partner}-{issuance}",
            block_start=start,
            block_end=end,
            project_id=f"JCM-{project}",
            vintage_start=vintage_start,
            vintage_end=vintage_end,
            country=partner,
            batch=issuance,
        )


def format_spe_grk(project: str, vintage: int, batch: int, *, start: int, end: int) -> str:
    """The SPE-GRK serial of ``start..end`` in ``batch`` (project code without dashes)."""
    return f"IDN-SPEGRK-{project}-{vintage}-{batch:06d}-{start}-{end}"


def format_tver(
    premium: bool, project: int, vintage: int, batch: int, *, start: int, end: int
) -> str:
    """The T-VER serial; ``vintage`` is a common-era year, written in the Buddhist era."""
    klass = "P" if premium else "S"
    return f"TVER-{klass}-{project:04d}-{vintage + BUDDHIST_ERA_OFFSET}-{batch:05d}-{start}-{end}"


def format_jcm(
    partner: str, project: str, vintage: int, issuance: int, *, start: int, end: int
) -> str:
    """The JCM serial of ``start..end`` of one issuance (``project`` like ``ID012``)."""
    return f"JCM-{partner}-{project}-{vintage}-{issuance:04d}-{start}-{end}"


SPE_GRK: Final = register_grammar(SpeGrkGrammar())
TVER: Final = register_grammar(TverGrammar())
JCM: Final = register_grammar(JcmGrammar())
