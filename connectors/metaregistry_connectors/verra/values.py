"""Cell values as registries publish them: dates, quantities, free text.

Shared by the Verra and Gold Standard connectors (both read the same kinds of exports and
JSON). Every reader takes the field name for its error message and raises
:class:`~metaregistry.connector.RecordError` naming the field and the value. They are called
once or a few times per record, so they slice strings instead of compiling patterns.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final

from metaregistry.connector import RecordError, strip_personal_data

__all__ = [
    "MAX_REASON",
    "cell",
    "day",
    "join_reason",
    "quantity",
    "vintage_year_range",
]

#: ``status_reason`` is at most 2,000 characters in the unit-block schema.
MAX_REASON: Final = 2000
# Registries repeat a few thousand distinct dates across millions of rows: remember the
# parsed ones (a plain dict, emptied when full) instead of building a date per cell.
_DAYS: dict[str, str] = {}
_DAYS_KEPT: Final = 65536


def cell(payload: Mapping[str, Any], key: str) -> str:
    """The text of one field, stripped; ``""`` when absent or null. Numbers become text
    (``12`` and ``12.0`` both read ``"12"``) so JSON and CSV values compare equal."""
    value = payload.get(key)
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def quantity(value: Any, field: str) -> int:
    """A whole, positive number of units: ``425``, ``"1,234"``, ``"28 571"``, ``"12.0"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("\u00a0", "").replace(" ", "")
        whole, dot, fraction = text.partition(".")
        if not (whole.isdigit() and whole.isascii()) or (dot and fraction.strip("0")):
            raise RecordError("is not a whole number of units", field=field, value=value)
        number = int(whole)
    else:
        raise RecordError("is not a whole number of units", field=field, value=value)
    if number <= 0:
        raise RecordError("must be at least 1", field=field, value=value)
    return number


def day(value: Any, field: str) -> str | None:
    """An ISO ``YYYY-MM-DD`` date from the forms registries publish, or None when empty.

    Accepted: ISO dates and timestamps (``2026-04-13``, ``2026-04-13T12:35:58.842275``,
    ``2020-03-20T00:00:00Z``) and day-first dates (``21/03/2023``, ``21-03-2023``,
    ``21.03.2023``, optionally followed by a time), as Verra's search API and the registry
    web pages print them. Month-first is never assumed: ``03/21/2023`` is an error.
    """
    if type(value) is str:
        known = _DAYS.get(value)
        if known is not None:
            return known
    elif value is None:
        return None
    elif isinstance(value, datetime.datetime):
        return value.date().isoformat()
    elif isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return None
    parsed = _parse_day(text, field, value)
    if type(value) is str:
        if len(_DAYS) >= _DAYS_KEPT:
            _DAYS.clear()
        _DAYS[value] = parsed
    return parsed


def _parse_day(text: str, field: str, value: Any) -> str:
    try:
        if len(text) >= 10 and text[4] == "-" and text[7] == "-":
            parsed = datetime.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
            if len(text) == 10 or text[10] in "T ":
                return parsed.isoformat()
        elif len(text) >= 10 and text[2] == text[5] and text[2] in "/-.":
            parsed = datetime.date(int(text[6:10]), int(text[3:5]), int(text[0:2]))
            if len(text) == 10 or text[10] == " ":
                return parsed.isoformat()
    except ValueError:
        raise RecordError("is not a valid calendar date", field=field, value=value) from None
    raise RecordError(
        "is not a date (expected YYYY-MM-DD or day-first DD/MM/YYYY)", field=field, value=value
    )


def vintage_year_range(value: Any, field: str) -> tuple[str, str] | tuple[None, None]:
    """A vintage year (``2024``, ``"2024"``, ``"2024.0"``) as its first and last day."""
    text = cell({"v": value}, "v")
    if not text:
        return None, None
    whole, dot, fraction = text.partition(".")
    if len(whole) != 4 or not whole.isdigit() or (dot and fraction.strip("0")):
        raise RecordError("is not a vintage year", field=field, value=value)
    return f"{whole}-01-01", f"{whole}-12-31"


def join_reason(parts: Iterable[tuple[str, str]], prefix: str | None = None) -> str | None:
    """One ``status_reason`` from labelled parts: ``"reason: X; beneficiary: Y"``.

    Empty parts are left out; ``prefix`` (a fixed statement such as "retired or cancelled")
    comes first. The result is NFC, free of e-mail addresses and phone numbers (the reason is
    stored next to the stripped raw payload, so it must not bring personal data back), and cut
    to :data:`MAX_REASON` characters. The same parts give the same text whichever path (API or
    file) they came from: that is what keeps the record hash path-independent.
    """
    pieces = [prefix] if prefix else []
    pieces.extend(f"{label}: {text}" for label, text in parts if text)
    if not pieces:
        return None
    reason = "; ".join(pieces)
    if "@" in reason or "+" in reason:
        reason = strip_personal_data({"r": reason})["r"]
    if not reason.isascii():
        reason = unicodedata.normalize("NFC", reason)
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "\u2026"
    return reason
