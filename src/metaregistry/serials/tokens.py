"""Readers for the tokens serial grammars share: numbers, block ranges, dates, countries.

Each reader takes the whole serial (for the error message), the token and the name of the
field it should be, and either returns the value or raises a ``SerialError`` naming the token.
Grammars written outside this package (the mock registries' SRN-PPI, TCCR and JCM formats)
should use them too, so every grammar rejects the same things the same way.
"""

from __future__ import annotations

import datetime
import functools
from typing import Final

from metaregistry.serials.parsed import MAX_BLOCK_NUMBER, SerialError

#: The word some registries (ACR, CAR, ART) put between the two ends of a range.
RANGE_WORD: Final = " to "


def is_digits(token: str) -> bool:
    """True when the token is one or more ASCII digits (``str.isdigit`` alone accepts '²')."""
    return token.isdigit() and token.isascii()


def number(serial: str, token: str, field: str) -> int:
    """A non-negative integer token that fits a signed 64-bit column."""
    if not (token.isdigit() and token.isascii()):
        raise SerialError.at(serial, token, field, "is not a number")
    value = int(token)
    if value > MAX_BLOCK_NUMBER:
        raise SerialError.at(serial, token, field, "is larger than 2**63-1")
    return value


def digits(serial: str, token: str, field: str) -> str:
    """A token that must be digits but is kept as text (ids, codes, batches)."""
    if not (token.isdigit() and token.isascii()):
        raise SerialError.at(serial, token, field, "is not a number")
    return token


def block_range(serial: str, start_token: str, end_token: str) -> tuple[int, int]:
    """The inclusive range ``start..end``; a single unit (start == end) is a valid range."""
    start = number(serial, start_token, "block_start")
    end = number(serial, end_token, "block_end")
    if start > end:
        raise SerialError.at(serial, end_token, "block_end", f"is before block start {start}")
    return start, end


def split_range(serial: str, text: str) -> tuple[str, str | None]:
    """Split ``<serial>-<start> to <end>`` into the serial part and the end token.

    The end is None when the text has no ``to``: the serial names a single unit.
    """
    head, word, end = text.partition(RANGE_WORD)
    if not word:
        if text.endswith(RANGE_WORD.rstrip()):
            raise SerialError.missing(serial, "block_end")
        return text, None
    if not end:
        raise SerialError.missing(serial, "block_end")
    if RANGE_WORD in end:
        raise SerialError(serial, None, "more than one ' to ' in the range", "block_end")
    return head, end


@functools.lru_cache(maxsize=8192)
def iso_date(token: str) -> str | None:
    """A ``DDMMYYYY`` token as ISO ``YYYY-MM-DD``, or None if it is not a real date.

    Cached: a handful of vintage dates repeat across millions of serials. The cache is a
    bounded LRU, so junk input can evict entries but not grow it.
    """
    if len(token) != 8 or not (token.isdigit() and token.isascii()):
        return None
    try:
        datetime.date(int(token[4:]), int(token[2:4]), int(token[:2]))
    except ValueError:
        return None
    return f"{token[4:]}-{token[2:4]}-{token[:2]}"


def ddmmyyyy(serial: str, token: str, field: str) -> str:
    """A ``DDMMYYYY`` date token (Verra vintages) as ISO ``YYYY-MM-DD``."""
    iso = iso_date(token)
    if iso is not None:
        return iso
    if len(token) != 8 or not (token.isdigit() and token.isascii()):
        raise SerialError.at(serial, token, field, "is not a DDMMYYYY date")
    raise SerialError.at(serial, token, field, "is not a valid date")


def vintage_year(serial: str, token: str) -> tuple[str, str]:
    """A four-digit vintage year as the first and last day of that year."""
    if len(token) != 4 or not (token.isdigit() and token.isascii()) or token == "0000":
        raise SerialError.at(serial, token, "vintage", "is not a four-digit year")
    return f"{token}-01-01", f"{token}-12-31"


def country(serial: str, token: str, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 code: two ASCII capital letters."""
    if len(token) != 2 or not (token.isalpha() and token.isascii() and token.isupper()):
        raise SerialError.at(serial, token, field, "is not a two-letter country code")
    return token


def need(serial: str, tokens: list[str], count: int, fields: tuple[str, ...]) -> None:
    """Require exactly ``count`` tokens; name the first missing field or the first extra token.

    ``fields`` names the tokens in order, so a short serial says what it lacks.
    """
    if len(tokens) < count:
        raise SerialError.missing(serial, fields[len(tokens)])
    if len(tokens) > count:
        extra = tokens[count]
        raise SerialError(
            serial, extra, f"unexpected token {extra!r} after {fields[count - 1].replace('_', ' ')}"
        )
