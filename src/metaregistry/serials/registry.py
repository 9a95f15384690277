"""The grammars metaregistry knows, and how a serial finds its grammar."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Protocol, runtime_checkable

from metaregistry.serials.acr import ACR
from metaregistry.serials.art import ART
from metaregistry.serials.car import CAR
from metaregistry.serials.cdm import CDM
from metaregistry.serials.cercarbono import CERCARBONO
from metaregistry.serials.gold_standard import GOLD_STANDARD
from metaregistry.serials.parsed import MAX_SERIAL_LENGTH, ParsedSerial, SerialError
from metaregistry.serials.verra import VERRA, VERRA_LEGACY

_FAMILY_NAME: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@runtime_checkable
class Grammar(Protocol):
    """One serial format.

    ``family`` names the format (kebab-case, unique among registered grammars). ``match``
    says, cheaply and without raising, whether a serial has this format's shape: it is called
    on every serial for every grammar before it, so it should look at a prefix or a marker
    token only, never parse. ``parse`` reads a serial (already stripped of surrounding
    whitespace, at most 512 characters) or raises ``SerialError`` naming the failing token;
    it must not rely on ``match`` having been called.
    """

    family: str

    def match(self, text: str) -> bool: ...

    def parse(self, text: str) -> ParsedSerial: ...


class GrammarRegistry:
    """An ordered set of grammars; the first whose ``match`` accepts and ``parse`` succeeds
    wins, so grammars whose shapes overlap are tried in the order they were added."""

    def __init__(self, grammars: Iterable[Grammar] = ()) -> None:
        self._by_family: dict[str, Grammar] = {}
        self._order: tuple[Grammar, ...] = ()
        for grammar in grammars:
            self.add(grammar)

    def add(self, grammar: Grammar, *, replace: bool = False) -> Grammar:
        """Add a grammar, tried after the ones already there.

        Adding the same object twice is a no-op. Another grammar with a family already taken
        is a ``ValueError`` unless ``replace`` is true; then it takes the old one's place.
        """
        if not isinstance(grammar, Grammar):
            raise TypeError(f"{grammar!r} is not a Grammar (needs family, match, parse)")
        family = grammar.family
        if not isinstance(family, str) or not _FAMILY_NAME.fullmatch(family):
            raise ValueError(f"grammar family {family!r} is not a kebab-case name")
        old = self._by_family.get(family)
        if old is grammar:
            return grammar
        if old is not None and not replace:
            raise ValueError(f"a grammar for family {family!r} is already registered")
        self._by_family[family] = grammar
        if old is None:
            self._order = (*self._order, grammar)
        else:
            self._order = tuple(grammar if g is old else g for g in self._order)
        return grammar

    def get(self, family: str) -> Grammar:
        """The grammar of one family; ``ValueError`` naming the known ones if there is none."""
        grammar = self._by_family.get(family)
        if grammar is None:
            known = ", ".join(self._by_family)
            raise ValueError(f"unknown serial family {family!r} (known: {known})")
        return grammar

    def all(self) -> tuple[Grammar, ...]:
        """The grammars in the order they are tried."""
        return self._order

    def parse(self, text: str, *, family: str | None = None) -> ParsedSerial:
        """Parse a serial with the named grammar, or with the first one that reads it."""
        if len(text) > MAX_SERIAL_LENGTH:
            raise SerialError(
                text, None, f"is {len(text)} characters long, more than {MAX_SERIAL_LENGTH}"
            )
        text = text.strip()
        if not text:
            raise SerialError(text, None, "empty serial")
        if family is not None:
            return self.get(family).parse(text)
        first_error: SerialError | None = None
        claimed: list[str] = []
        for grammar in self._order:
            if grammar.match(text):
                try:
                    return grammar.parse(text)
                except SerialError as error:
                    first_error = first_error or error
                    claimed.append(grammar.family)
        if first_error is not None and len(claimed) == 1:
            raise first_error
        if claimed:
            tried = ", ".join(claimed)
            raise SerialError(
                text, None, f"no known serial format (looks like {tried}, but none reads it)"
            )
        raise SerialError(text, None, "no known serial format")


#: The registry ``parse_serial`` uses. Verra comes first: most serials in the wild are VCUs.
_DEFAULT = GrammarRegistry([VERRA, VERRA_LEGACY, GOLD_STANDARD, CDM, ACR, CAR, ART, CERCARBONO])


def register_grammar(grammar: Grammar, *, replace: bool = False) -> Grammar:
    """Make ``parse_serial`` know one more grammar (tried after the built-in ones)."""
    return _DEFAULT.add(grammar, replace=replace)


def grammars() -> tuple[Grammar, ...]:
    """The registered grammars in the order ``parse_serial`` tries them."""
    return _DEFAULT.all()


def parse_serial(text: str, *, family: str | None = None) -> ParsedSerial:
    """Parse one serial (surrounding whitespace ignored).

    With ``family``, only that grammar is used (``ValueError`` if there is none by that
    name). Without, grammars are tried in order. Raises ``SerialError``: the claiming
    grammar's own error when exactly one grammar recognizes the shape, otherwise
    ``no known serial format``.
    """
    return _DEFAULT.parse(text, family=family)
