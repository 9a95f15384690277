"""Opaque cursors of ``GET /v1/alerts``: base64url of ``["alerts", <sort key>...]``.

The tag refuses a cursor of another list instead of silently skipping rows; clients must
treat cursors as opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from metaregistry.feed.alert_tables import decode_order_key
from metaregistry.feed.errors import FeedRequestError

__all__ = ["decode_alert_cursor", "encode_alert_cursor"]

_TAG = "alerts"
_MAX_CURSOR = 1024


def encode_alert_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps([_TAG, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_alert_cursor(text: str) -> list[Any]:
    """The sort key in ``text``, in column types; 400 naming ``cursor`` when it is not one."""
    problem = FeedRequestError.bad_parameter("cursor", text, "is not a cursor of /v1/alerts")
    if len(text) > _MAX_CURSOR:
        raise problem
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise problem from None
    if not isinstance(value, list) or not value or value[0] != _TAG:
        raise problem
    key = decode_order_key(value[1:])
    if key is None:
        raise problem
    return key
