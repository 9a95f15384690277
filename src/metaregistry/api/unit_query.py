"""What a lookup asks for: the units named by a serial, read into (scheme, scope, range).

Two spellings are accepted wherever a serial is:

* any registry's serial as published (``19385-941467007-941467431-VCS-VCU-...``,
  ``GS1-1-UG-GS11236-16-2024-30307-1-19149``, ``RW-5-1463953-2-2-0-7014``), read by
  :func:`metaregistry.serials.parse_serial`;
* units written directly as ``scheme:scope:number`` or ``scheme:scope:start-end``, in the
  index's own numbering (DOMAIN.md, "Numbering rules"): ``vcs::941467100`` (Verra numbers
  registry-wide, so its scope is empty), ``gs:30307:19149``, ``cdm:RW-5:1463953-1463960``.

Nothing in a registry serial has the ``word:...:digits`` shape, so the two never collide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from metaregistry.api.errors import ApiError
from metaregistry.serials import MAX_BLOCK_NUMBER, SerialError, parse_serial

__all__ = ["UNIT_FORM", "UnitQuery", "read_query"]

_UNITS: Final = re.compile(
    r"(?P<scheme>[a-z0-9]+(?:[-.][a-z0-9]+)*):(?P<scope>[^:]*):"
    r"(?P<start>[0-9]+)(?:-(?P<end>[0-9]+))?"
)
UNIT_FORM: Final = "scheme:scope:number or scheme:scope:start-end"


@dataclass(frozen=True, slots=True)
class UnitQuery:
    """The units a lookup is about. ``family`` is the serial format that was read, or
    ``"units"`` for the direct ``scheme:scope:...`` spelling; ``parsed`` what the serial says."""

    text: str
    family: str
    scheme: str
    scope: str
    start: int
    end: int
    parsed: dict[str, Any] | None = None

    @property
    def quantity(self) -> int:
        return self.end - self.start + 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "serial": self.text,
            "family": self.family,
            "scheme": self.scheme,
            "scope": self.scope,
            "block_start": self.start,
            "block_end": self.end,
            "quantity": self.quantity,
        }
        if self.parsed is not None:
            out["parsed"] = self.parsed
        return out


def read_query(text: str, *, max_length: int) -> UnitQuery:
    """The units ``text`` names; :class:`ApiError` 400 naming the problem when it names none."""
    if len(text) > max_length:
        raise ApiError(
            400,
            "serial_too_long",
            f"serial is {len(text)} characters long; the limit is {max_length}",
            field="serial",
            value=text,
        )
    stripped = text.strip()
    if not stripped:
        raise ApiError(400, "invalid_serial", "serial is empty", field="serial", value=text)
    units = _UNITS.fullmatch(stripped)
    if units is not None:
        return _read_units(stripped, units)
    try:
        parsed = parse_serial(stripped)
    except SerialError as exc:
        raise ApiError(
            400,
            "invalid_serial",
            str(exc),
            field="serial",
            value=text,
            hint=f"give a registry serial as published, or units as {UNIT_FORM}",
        ) from None
    return UnitQuery(
        text=stripped,
        family=parsed.family,
        scheme=parsed.scheme,
        scope=parsed.scope,
        start=parsed.block_start,
        end=parsed.block_end,
        parsed=parsed.to_json(),
    )


def _read_units(text: str, match: re.Match[str]) -> UnitQuery:
    start = int(match["start"])
    end = int(match["end"]) if match["end"] is not None else start
    for name, number in (("block start", start), ("block end", end)):
        if number > MAX_BLOCK_NUMBER:
            raise ApiError(
                400,
                "invalid_serial",
                f"{name} {number} is larger than the largest block number {MAX_BLOCK_NUMBER}",
                field="serial",
                value=text,
            )
    if start > end:
        raise ApiError(
            400,
            "invalid_serial",
            f"block start {start} is after block end {end}",
            field="serial",
            value=text,
        )
    return UnitQuery(
        text=text,
        family="units",
        scheme=match["scheme"],
        scope=match["scope"],
        start=start,
        end=end,
    )
