"""Canonical JSON (RFC 8785, JCS) and the SHA-256 hashes built on it.

Two serializers produce the same bytes:

* :func:`canonicalize_reference` follows the RFC step by step (UTF-16 key order, ES6 number
  formatting, minimal string escaping). It is the specification in code and it is slow.
* :func:`canonicalize` takes a fast path through :func:`json.dumps` for the common case
  (every key ASCII, no floats anywhere), where ``sort_keys`` order equals UTF-16 order and
  Python's escaping equals the RFC's, and falls back to the reference otherwise. A property
  test proves the two byte-identical.

One deliberate deviation: RFC 8785 writes every number as an IEEE-754 double, which would round
integers beyond 2**53 (64-bit block numbers). Integers are written exactly here; a record with
such a number still hashes the same wherever it is hashed by metaregistry.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CanonicalizationError",
    "canonicalize",
    "canonicalize_reference",
    "hash_json",
    "sha256_hex",
]


class CanonicalizationError(ValueError):
    """Raised when a value has no canonical JSON form (NaN, infinity, a non-JSON type)."""


_dumps = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


_NONE = type(None)
#: Leaf types json.dumps writes exactly as RFC 8785 does (exact types: a str or int subclass
#: such as an enum goes to the reference, which treats it by value).
_SCALARS = frozenset({str, int, bool, _NONE})
_SIMPLE = _SCALARS | {dict, list, tuple}


def _is_simple(value: Any) -> bool:
    """True when json.dumps already writes the RFC 8785 form of ``value``: every key an ASCII
    string, no floats, only JSON types. The type checks run over sets built in C
    (``set(map(type, ...))``), so a flat record costs a few set operations, not a Python
    call per field."""
    kind = type(value)
    if kind is dict:
        return _is_simple_dict(value)
    if kind is list or kind is tuple:
        return _is_simple_items(value)
    return kind in _SCALARS


def _is_simple_dict(value: dict[Any, Any]) -> bool:
    try:
        # Every key a str (join refuses anything else) and ASCII, where Python's sort_keys
        # order equals RFC 8785's UTF-16 order.
        if not "".join(value).isascii():
            return False
    except TypeError:
        return False
    return _is_simple_items(value.values())


def _is_simple_items(values: Any) -> bool:
    kinds = set(map(type, values))
    if kinds <= _SCALARS:
        return True
    if not kinds <= _SIMPLE:
        return False
    for item in values:
        kind = type(item)
        if kind is dict:
            if not _is_simple_dict(item):
                return False
        elif (kind is list or kind is tuple) and not _is_simple_items(item):
            return False
    return True


def canonicalize(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` (UTF-8). Raises :class:`CanonicalizationError`."""
    if _is_simple(value):
        try:
            return _dumps(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let the reference name the error
            pass
    return canonicalize_reference(value)


def canonicalize_reference(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``, written out rule by rule."""
    parts: list[str] = []
    _write(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate has no UTF-8 form
        raise CanonicalizationError(f"string is not valid Unicode: {exc}") from exc


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _write_string(text: str, parts: list[str]) -> None:
    parts.append('"')
    for ch in text:
        if ch in _ESCAPES:
            parts.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            parts.append(f"\\u{ord(ch):04x}")
        else:
            parts.append(ch)
    parts.append('"')


def _format_number(number: float) -> str:
    """ECMAScript Number.prototype.toString for a finite double (RFC 8785, section 3.2.2.3)."""
    if math.isnan(number) or math.isinf(number):
        raise CanonicalizationError(f"number has no JSON form: {number!r}")
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    digits, exponent = _shortest_digits(abs(number))
    k = len(digits)
    n = exponent + k  # position of the decimal point relative to the digits
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        body = f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"
    return sign + body


def _shortest_digits(number: float) -> tuple[str, int]:
    """Shortest round-tripping decimal digits of ``number`` and their exponent."""
    mantissa, _, exp = repr(number).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    if frac_part == "0":
        frac_part = ""
    digits = (int_part + frac_part).lstrip("0")
    exponent = (int(exp) if exp else 0) - len(frac_part)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped or "0", exponent


def _write(value: Any, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(str(value))
    elif isinstance(value, float):
        parts.append(_format_number(value))
    elif isinstance(value, str):
        _write_string(value, parts)
    elif isinstance(value, Mapping):
        parts.append("{")
        keys = list(value.keys())
        for key in keys:
            if not isinstance(key, str):
                raise CanonicalizationError(f"object key is not a string: {key!r}")
        for i, key in enumerate(sorted(keys, key=lambda k: k.encode("utf-16-be"))):
            if i:
                parts.append(",")
            _write_string(key, parts)
            parts.append(":")
            _write(value[key], parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for i, item in enumerate(value):
            if i:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        raise CanonicalizationError(f"value of type {type(value).__name__} has no JSON form")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_json(value: Any) -> str:
    """SHA-256 hex of the canonical bytes of ``value``."""
    return hashlib.sha256(canonicalize(value)).hexdigest()
