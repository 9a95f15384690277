"""What a parsed serial is, and the error raised when a serial cannot be parsed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

#: Longest serial accepted. The longest real one (a CDM range) is under 60 characters; the
#: limit keeps a hostile record from costing more than a few microseconds.
MAX_SERIAL_LENGTH: Final = 512
#: Largest block number: the index stores block numbers as signed 64-bit integers.
MAX_BLOCK_NUMBER: Final = 2**63 - 1
# Long serials are cut in messages so a 512-character input does not flood a log line.
_SHOWN_LENGTH: Final = 120


@dataclass(frozen=True, slots=True, init=False)
class ParsedSerial:
    """The facts one serial states about a contiguous, inclusive range of units.

    ``scheme``, ``scope``, ``block_start`` and ``block_end`` identify the units themselves:
    two parsed serials with the same scheme and scope whose ranges intersect name some of the
    same units. The other fields are what the serial says about them; ``extras`` keeps the
    remaining tokens (unit type, registry token, flags) as ``(name, value)`` pairs in the order
    of the serial. The raw text is not kept here: the caller keeps the serial as published.
    """

    family: str
    scheme: str
    scope: str
    block_start: int
    block_end: int
    project_id: str | None = None
    vintage_start: str | None = None
    vintage_end: str | None = None
    country: str | None = None
    batch: str | None = None
    extras: tuple[tuple[str, str], ...] = ()

    # Written out because the generated frozen __init__ looks up object.__setattr__ once per
    # field and cost half of a whole parse (about 1.5 us of 3); same fields, same order.
    def __init__(
        self,
        family: str,
        scheme: str,
        scope: str,
        block_start: int,
        block_end: int,
        project_id: str | None = None,
        vintage_start: str | None = None,
        vintage_end: str | None = None,
        country: str | None = None,
        batch: str | None = None,
        extras: tuple[tuple[str, str], ...] = (),
    ) -> None:
        put = object.__setattr__
        put(self, "family", family)
        put(self, "scheme", scheme)
        put(self, "scope", scope)
        put(self, "block_start", block_start)
        put(self, "block_end", block_end)
        put(self, "project_id", project_id)
        put(self, "vintage_start", vintage_start)
        put(self, "vintage_end", vintage_end)
        put(self, "country", country)
        put(self, "batch", batch)
        put(self, "extras", extras)

    @property
    def quantity(self) -> int:
        """Number of units in the range (ranges are inclusive)."""
        return self.block_end - self.block_start + 1

    def extra(self, name: str) -> str | None:
        """The value of one extra fact, or None when the serial does not state it."""
        for key, value in self.extras:
            if key == name:
                return value
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, with ``quantity`` and ``extras`` as an object."""
        return {
            "family": self.family,
            "scheme": self.scheme,
            "scope": self.scope,
            "block_start": self.block_start,
            "block_end": self.block_end,
            "quantity": self.quantity,
            "project_id": self.project_id,
            "vintage_start": self.vintage_start,
            "vintage_end": self.vintage_end,
            "country": self.country,
            "batch": self.batch,
            "extras": dict(self.extras),
        }


class SerialError(ValueError):
    """A serial that cannot be parsed.

    ``serial`` is the text as given, ``token`` the token that failed (None when the failure is
    not about one token: empty input, unknown format, a missing token), ``field`` the name of
    the part the token should have been (``block_start``, ``vintage_end``, ...) or None, and
    ``reason`` the explanation without the serial, e.g.
    ``token 'X' (block start) is not a number``.
    """

    def __init__(
        self, serial: str, token: str | None, reason: str, field: str | None = None
    ) -> None:
        self.serial = serial
        self.token = token
        self.reason = reason
        self.field = field
        super().__init__(serial, token, reason)

    def __str__(self) -> str:
        shown = self.serial
        if len(shown) > _SHOWN_LENGTH:
            shown = shown[: _SHOWN_LENGTH - 3] + "..."
        return f"cannot parse serial {shown!r}: {self.reason}"

    @classmethod
    def at(cls, serial: str, token: str, field: str, problem: str) -> SerialError:
        """An error about one token: ``token 'X' (block start) <problem>``."""
        label = field.replace("_", " ")
        return cls(serial, token, f"token {token!r} ({label}) {problem}", field)

    @classmethod
    def missing(cls, serial: str, field: str) -> SerialError:
        """An error for a token the serial lacks."""
        label = field.replace("_", " ")
        return cls(serial, None, f"missing token ({label})", field)
