from __future__ import annotations

import hashlib
import hmac

import pytest

from metaregistry.feed.signature import (
    SignatureError,
    sign,
    signature_header,
    verify_signature,
)

BODY = b'{"specversion":"1.0","id":"7"}'
NOW = 1_767_225_600


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    # What a receiver in any language computes from the documented scheme.
    expected = hmac.new(b"s3cret", b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert signature_header("s3cret", BODY, timestamp=NOW) == f"t={NOW},v1={expected}"
    assert verify_signature("s3cret", f"t={NOW},v1={expected}", BODY, now=NOW) == NOW


@pytest.mark.parametrize(
    ("header", "body", "secret", "problem"),
    [
        (None, BODY, "s3cret", "missing"),
        (f"t={NOW}", BODY, "s3cret", "no v1="),
        (f"v1={sign('s3cret', NOW, BODY)}", BODY, "s3cret", "no t="),
        (f"t=yesterday,v1={sign('s3cret', NOW, BODY)}", BODY, "s3cret", "not a Unix time"),
        (f"t={NOW},v1={sign('s3cret', NOW, BODY)}", BODY + b" ", "s3cret", "matches no secret"),
        (f"t={NOW},v1={sign('s3cret', NOW, BODY)}", BODY, "other", "matches no secret"),
        (f"t={NOW - 301},v1={sign('s3cret', NOW - 301, BODY)}", BODY, "s3cret", "tolerance"),
        ("garbage", BODY, "s3cret", "not key=value"),
    ],
)
def test_bad_signatures_are_refused_with_the_reason(
    header: str | None, body: bytes, secret: str, problem: str
) -> None:
    with pytest.raises(SignatureError, match=problem):
        verify_signature(secret, header, body, now=NOW)


def test_any_secret_of_a_rotation_and_any_v1_value_match() -> None:
    header = f"t={NOW},v1={'0' * 64},v1={sign('new', NOW, BODY)}"
    assert verify_signature(["old", "new"], header, BODY, now=NOW) == NOW
    with pytest.raises(SignatureError):
        verify_signature(["old"], header, BODY, now=NOW)
