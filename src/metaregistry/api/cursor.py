"""Opaque paging cursors.

A cursor is the base64url text of a small JSON array: the sort key of the last item a page
returned, plus a tag naming the list it belongs to, so a cursor from ``/v1/blocks`` handed to
``/v1/projects/...`` is refused instead of silently skipping rows. Clients must treat cursors
as opaque; the server may change their content between releases.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from metaregistry.api.errors import ApiError

__all__ = ["decode_cursor", "encode_cursor"]

_MAX_CURSOR = 1024


def encode_cursor(tag: str, *key: Any) -> str:
    raw = json.dumps([tag, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(
    text: str,
    tag: str,
    types: tuple[type, ...] = (),
    *,
    parse: Callable[[Sequence[Any]], list[Any] | None] | None = None,
) -> list[Any]:
    """The key stored in ``text``; 400 naming the ``cursor`` parameter when it is not one of
    ours for this list. The key's parts must have ``types``, or ``parse`` turns them into
    the key (None when they are not one)."""
    problem = ApiError.bad_parameter("cursor", text, "is not a cursor of this list")
    if len(text) > _MAX_CURSOR:
        raise problem
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise problem from None
    if not isinstance(value, list) or not value or value[0] != tag:
        raise problem
    key = value[1:]
    if parse is not None:
        parsed = parse(key)
        if parsed is None:
            raise problem
        return parsed
    if len(key) != len(types):
        raise problem
    for part, kind in zip(key, types, strict=True):
        # bool is an int subclass in Python; a cursor never holds booleans.
        if not isinstance(part, kind) or isinstance(part, bool):
            raise problem
    return key
