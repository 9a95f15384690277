"""Verra VCU serials: the current registry and the legacy APX / Markit registries.

Token by token (DOMAIN.md, "Serial formats")::

    19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1
    batch-start-end-[program]-unit type-code-registry-country-[sectoral scope]-project-
    vintage start (DDMMYYYY)-vintage end-additional certification flag

The program token ``VCS`` is absent in serials of the legacy registries (registry token
``APX`` or ``MER``), and the newest platform omits the sectoral scope. The fixed points are
read from the front (batch, range, optional ``VCS``, unit type, code, registry, country) and
from the back (flag, vintage end, vintage start); what lies between is ``[scope] project``.

Scope: the current registry (``VER``) numbers blocks registry-wide, so its scope is ``""``.
Legacy serials get scope ``"legacy"``: in the real exports (moss-mco2-verra, stellarcarbon,
regen) APX and MER blocks form one sequence (batch 5531 at block 243,019,420 up to batch 8040
at 449,402,275, the two registries interleaved), and the current registry restarted at block 1
(batch 8164: blocks 1-9428) and has since passed through the same numbers again (batch 11422
at 328,244,419). A legacy block and a current block with the same numbers are different units,
so the two numberings must not be compared. Verra keeps printing a legacy unit's serial in the
legacy form (stellarcarbon's 2025 retirements of batch 8040), so the form decides the scope.

Hand-typed serials sometimes carry the letter O for a zero (``...-3112202O-O``). In a token
that must be a number the letter can only mean zero, so it is read as one; the result then
carries ``("normalized", "letter-o-as-zero")`` in its extras. The caller keeps the raw text.
"""

from __future__ import annotations

import re
from typing import Final

from metaregistry.serials.parsed import MAX_BLOCK_NUMBER, ParsedSerial, SerialError
from metaregistry.serials.tokens import block_range, ddmmyyyy, digits, is_digits, iso_date

_PROGRAM: Final = (("program", "VCS"),)
_NORMALIZED: Final = (("normalized", "letter-o-as-zero"),)
_CURRENT: Final = frozenset({"VER"})
_LEGACY: Final = frozenset({"APX", "MER"})


class VerraGrammar:
    """Verra VCU serials of one numbering (current ``VER``, or legacy ``APX``/``MER``)."""

    def __init__(self, family: str, registries: frozenset[str], scope: str) -> None:
        self.family = family
        self._registries = registries
        self._scope = scope
        # The registry token is the cheapest unambiguous mark of a Verra serial.
        self._marks = tuple(f"-{name}-" for name in sorted(registries))
        names = "|".join(sorted(registries))
        # The well-formed shape, token by token, for the fast path of parse(); the optional
        # sectoral scope is resolved by the anchored end (date-date-flag), not by counting.
        # A VCS token is always the program, never the unit type (as in read_tokens).
        self._shape = re.compile(
            rf"(\d+)-(\d+)-(\d+)-(?:(VCS)-)?(?!VCS-)([A-Z]+)-(\d+)-({names})-([A-Z]{{2}})-"
            rf"(?:(\d+)-)?(\d+)-(\d{{8}})-(\d{{8}})-([01])",
            re.ASCII,
        )

    def match(self, text: str) -> bool:
        for mark in self._marks:
            if mark in text:
                return text[:1].isdigit()
        return False

    def parse(self, text: str) -> ParsedSerial:
        """Parse a well-formed serial in one regex match; anything else (an error, a
        hand-typed O) goes to :meth:`read_tokens`, which says what is wrong."""
        shape = self._shape.fullmatch(text)
        if shape is None:
            return self.read_tokens(text)
        batch, first, last, program, unit, code, registry, country, sectoral, project, *rest = (
            shape.groups()
        )
        vintage_start = iso_date(rest[0])
        vintage_end = iso_date(rest[1])
        start = int(first)
        end = int(last)
        if (
            start > end
            or end > MAX_BLOCK_NUMBER
            or vintage_start is None
            or vintage_end is None
            or vintage_end < vintage_start
        ):
            return self.read_tokens(text)
        if program is None or sectoral is None:
            return self._result(
                batch, start, end, program is not None, unit, code, registry, country,
                sectoral, project, vintage_start, vintage_end, rest[2], normalized=False,
            )  # fmt: skip
        # The shape of nearly every current serial, built in one go (a third of the time).
        extras = (
            _PROGRAM[0],
            ("unit_type", unit),
            ("code", code),
            ("registry", registry),
            ("sectoral_scope", sectoral),
            ("additional_certification", rest[2]),
        )
        return ParsedSerial(
            self.family, "vcs", self._scope, start, end, "VCS" + project,
            vintage_start, vintage_end, country, batch, extras,
        )  # fmt: skip

    def read_tokens(self, text: str) -> ParsedSerial:
        """The token-by-token reader: the reference for :meth:`parse`, and its errors."""
        tokens = text.split("-")
        normalized = ("O" in text or "o" in text) and _read_letter_o(tokens)
        count = len(tokens)
        batch = digits(text, tokens[0], "batch")
        if count < 3:
            raise SerialError.missing(text, ("batch", "block_start", "block_end")[count])
        start, end = block_range(text, tokens[1], tokens[2])
        program = count > 3 and tokens[3] == "VCS"
        at = 4 if program else 3
        if count < at + 4:
            raise SerialError.missing(
                text, ("unit_type", "code", "registry", "country")[count - at]
            )
        unit_type = tokens[at]
        if not (unit_type.isalpha() and unit_type.isascii() and unit_type.isupper()):
            raise SerialError.at(text, unit_type, "unit_type", "is not a unit type such as VCU")
        code = digits(text, tokens[at + 1], "code")
        registry = tokens[at + 2]
        if registry not in self._registries:
            allowed = ", ".join(sorted(self._registries))
            raise SerialError.at(text, registry, "registry", f"is not one of {allowed}")
        country = tokens[at + 3]
        if len(country) != 2 or not (country.isalpha() and country.isascii() and country.isupper()):
            raise SerialError.at(text, country, "country", "is not a two-letter country code")
        sectoral, project, vintage_start, vintage_end, flag = _read_tail(text, tokens[at + 4 :])
        return self._result(
            batch, start, end, program, unit_type, code, registry, country,
            sectoral, project, vintage_start, vintage_end, flag, normalized=normalized,
        )  # fmt: skip

    def _result(
        self,
        batch: str,
        start: int,
        end: int,
        program: bool,
        unit_type: str,
        code: str,
        registry: str,
        country: str,
        sectoral: str | None,
        project: str,
        vintage_start: str,
        vintage_end: str,
        flag: str,
        *,
        normalized: bool,
    ) -> ParsedSerial:
        extras: tuple[tuple[str, str], ...] = _PROGRAM if program else ()
        extras += (("unit_type", unit_type), ("code", code), ("registry", registry))
        if sectoral is not None:
            extras += (("sectoral_scope", sectoral),)
        extras += (("additional_certification", flag),)
        if normalized:
            extras += _NORMALIZED
        return ParsedSerial(
            self.family,
            "vcs",
            self._scope,
            start,
            end,
            project_id="VCS" + project,
            vintage_start=vintage_start,
            vintage_end=vintage_end,
            country=country,
            batch=batch,
            extras=extras,
        )


def _read_tail(text: str, tail: list[str]) -> tuple[str | None, str, str, str, str]:
    """``[sectoral scope] project vintage-start vintage-end flag``, read from the back."""
    # A serial cut after its vintage ends in a date: say the flag is missing rather than
    # complain that a date is not a flag.
    if tail and len(tail[-1]) == 8 and is_digits(tail[-1]):
        raise SerialError.missing(text, "additional_certification")
    if len(tail) < 4:
        raise SerialError.missing(text, _TAIL_FIELDS[len(tail)])
    if len(tail) > 5:
        extra = tail[2]
        raise SerialError(text, extra, f"unexpected token {extra!r} after project id")
    flag = tail[-1]
    if flag not in ("0", "1"):
        raise SerialError.at(text, flag, "additional_certification", "is not 0 or 1")
    vintage_start = ddmmyyyy(text, tail[-3], "vintage_start")
    vintage_end = ddmmyyyy(text, tail[-2], "vintage_end")
    if vintage_end < vintage_start:
        raise SerialError.at(
            text, tail[-2], "vintage_end", f"is before vintage start {vintage_start}"
        )
    project = digits(text, tail[-4], "project_id")
    sectoral = digits(text, tail[0], "sectoral_scope") if len(tail) == 5 else None
    return sectoral, project, vintage_start, vintage_end, flag


_TAIL_FIELDS: Final = ("project_id", "vintage_start", "vintage_end", "additional_certification")


def _read_letter_o(tokens: list[str]) -> bool:
    """Read the letter O as zero in the tokens that must be numbers; True if any changed.

    The numeric tokens are found by position relative to the keyword tokens (``VCS``, unit
    type, registry, country), which themselves may hold an O (country ``CO``) and are left
    alone.
    """
    at = 4 if len(tokens) > 3 and tokens[3] == "VCS" else 3
    numeric = [0, 1, 2, at + 1, *range(at + 4, len(tokens))]
    changed = False
    for index in numeric:
        if index >= len(tokens):
            break
        token = tokens[index]
        if is_digits(token):
            continue
        candidate = token.replace("O", "0").replace("o", "0")
        if candidate != token and is_digits(candidate):
            tokens[index] = candidate
            changed = True
    return changed


#: The current Verra registry: registry token ``VER``, registry-wide numbering.
VERRA: Final = VerraGrammar("verra", _CURRENT, "")
#: The legacy APX and Markit registries: their own numbering, scope ``legacy``.
VERRA_LEGACY: Final = VerraGrammar("verra-legacy", _LEGACY, "legacy")
