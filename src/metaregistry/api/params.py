"""Query parameters, read one way by every route (the lookup API, the alert feed, the log).

A bad value is a 400 :class:`~metaregistry.api.errors.ApiError` naming the parameter and the
value. Integers are ASCII digits only: no sign, no spaces, no other digits (``²``), at most
19 of them, then checked against the route's bounds.
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

from metaregistry.api.errors import ApiError

__all__ = ["MAX_INTEGER", "MAX_TEXT", "integer", "parse_integer", "text", "values"]

#: The largest integer a parameter may hold (a BIGINT).
MAX_INTEGER: Final = 2**63 - 1
MAX_TEXT: Final = 256
SLUG: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def parse_integer(name: str, raw: str, *, low: int = 0, high: int = MAX_INTEGER) -> int:
    """``raw`` (a parameter's or a header's text) as an integer from ``low`` to ``high``."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not low <= int(raw) <= high:
        raise ApiError.bad_parameter(name, raw, f"must be an integer from {low} to {high}")
    return int(raw)


def integer(
    request: web.Request,
    name: str,
    default: int | None = None,
    *,
    low: int = 0,
    high: int = MAX_INTEGER,
) -> int:
    """The query parameter ``name`` as an integer; ``default`` when it is absent (None:
    it is required)."""
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise ApiError.bad_parameter(name, None, "is required")
        return default
    return parse_integer(name, raw, low=low, high=high)


def text(request: web.Request, name: str, default: str | None = None) -> str | None:
    """The query parameter ``name`` (at most :data:`MAX_TEXT` characters)."""
    value = request.query.get(name, default)
    if value is not None and len(value) > MAX_TEXT:
        raise ApiError.bad_parameter(name, value, f"is longer than {MAX_TEXT} characters")
    return value


def values(request: web.Request, name: str, allowed: frozenset[str] | None) -> frozenset[str]:
    """Every value of ``name``, repeated or comma-separated (``kind=a,b&kind=c``), each one
    of ``allowed`` (None: a registry slug)."""
    out: set[str] = set()
    for raw in request.query.getall(name, []):
        for part in raw.split(","):
            value = part.strip()
            ok = value in allowed if allowed is not None else bool(SLUG.match(value))
            if not ok:
                hint = (
                    f"is not one of {', '.join(sorted(allowed))}"
                    if allowed is not None
                    else "is not a registry slug"
                )
                raise ApiError.bad_parameter(name, value, hint)
            out.add(value)
    return frozenset(out)
