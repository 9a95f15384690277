"""Webhook signatures: HMAC-SHA256 over the timestamp and the body, the Stripe way.

Every delivery carries one header::

    X-Metaregistry-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e5...

``t`` is the Unix time (seconds, UTC) the request was signed; ``v1`` is the lowercase hex
HMAC-SHA256, keyed with the subscriber's ``secret`` (its UTF-8 bytes), of the bytes
``f"{t}.".encode() + body``, where ``body`` is the raw request body exactly as received (do not
re-serialize the JSON before checking). To verify, a receiver

1. splits the header on ``,`` into ``key=value`` pairs (unknown keys are ignored; there may
   be several ``v1`` values while a secret is rotated: any match is enough);
2. recomputes the HMAC and compares it in constant time (``hmac.compare_digest``);
3. refuses a ``t`` further than its tolerance (five minutes here) from its own clock, which
   stops an eavesdropper from replaying an old delivery. Deduplicate on the CloudEvent ``id``:
   delivery is at least once.

:func:`verify_signature` does exactly this, for receivers written in Python.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "SIGNATURE_HEADER",
    "SignatureError",
    "sign",
    "signature_header",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Metaregistry-Signature"
DEFAULT_TOLERANCE = 300  # seconds; the window Stripe and Standard Webhooks use too


class SignatureError(ValueError):
    """A signature header is missing, malformed, too old, or matches no secret."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of ``f"{timestamp}." + body`` keyed with ``secret``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The header value ``t=<unix>,v1=<hex>`` for ``body``, signed now unless ``timestamp``."""
    when = int(time.time()) if timestamp is None else timestamp
    return f"t={when},v1={sign(secret, when, body)}"


def verify_signature(
    secrets: str | list[str],
    header: str | None,
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: int | None = None,
) -> int:
    """Check ``header`` against ``body``; return its timestamp. Raises :class:`SignatureError`
    naming what is wrong. ``secrets`` may list several during a rotation."""
    if not header:
        raise SignatureError(f"the {SIGNATURE_HEADER} header is missing")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"{SIGNATURE_HEADER} part {part!r} is not key=value")
        if key == "t":
            if not (value.isascii() and value.isdigit()) or len(value) > 12:
                raise SignatureError(f"{SIGNATURE_HEADER} t={value!r} is not a Unix time")
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None:
        raise SignatureError(f"{SIGNATURE_HEADER} {header!r} has no t=")
    if not candidates:
        raise SignatureError(f"{SIGNATURE_HEADER} {header!r} has no v1=")
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(
            f"{SIGNATURE_HEADER} t={timestamp} is {current - timestamp} s away from now "
            f"(tolerance {tolerance} s)"
        )
    keys = [secrets] if isinstance(secrets, str) else secrets
    for secret in keys:
        expected = sign(secret, timestamp, body)
        if any(hmac.compare_digest(expected, given) for given in candidates):
            return timestamp
    raise SignatureError(f"{SIGNATURE_HEADER} matches no secret for this body")
