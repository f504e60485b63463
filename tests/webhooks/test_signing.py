"""Signatures: a receiver accepts exactly the body that was signed, with this secret, recently."""

from __future__ import annotations

import pytest

from pipelines.webhooks import WebhookSignatureError, signature_header, verify_signature
from pipelines.webhooks.signing import sign

SECRET = "whsec_test_secret_value"
BODY = b'{"id":"d1","event":"training.completed","data":{"accuracy":0.912}}'
NOW = 1_750_000_000


def test_signed_body_verifies() -> None:
    header = signature_header(SECRET, BODY, NOW)
    assert header == f"t={NOW},v1={sign(SECRET, BODY, NOW)}"
    verify_signature(SECRET, header, BODY, now=NOW + 10)
    verify_signature(SECRET, header, BODY.decode(), now=NOW)  # str and bytes bodies sign alike


@pytest.mark.parametrize(
    ("secret", "body", "match"),
    [
        ("another_secret_value", BODY, "does not match"),
        (SECRET, BODY.replace(b"0.912", b"0.999"), "does not match"),
    ],
)
def test_wrong_secret_or_altered_body_is_rejected(secret: str, body: bytes, match: str) -> None:
    with pytest.raises(WebhookSignatureError, match=match):
        verify_signature(secret, signature_header(SECRET, BODY, NOW), body, now=NOW)


def test_replayed_and_future_signatures_are_rejected() -> None:
    header = signature_header(SECRET, BODY, NOW)
    verify_signature(SECRET, header, BODY, now=NOW + 300)  # at the edge of the tolerance
    with pytest.raises(WebhookSignatureError, match="tolerance 300 s"):
        verify_signature(SECRET, header, BODY, now=NOW + 301)
    with pytest.raises(WebhookSignatureError, match="from now"):
        verify_signature(SECRET, header, BODY, tolerance_s=60, now=NOW - 120)
    # Re-stamping an old signature with a fresh time does not help: the time is inside the MAC.
    forged = header.replace(f"t={NOW}", f"t={NOW + 3600}")
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(SECRET, forged, BODY, now=NOW + 3600)


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", f"v1={'0' * 64}", f"t={NOW}", f"t=soon,v1={'0' * 64}", f"t={NOW},v1=é"],
)
def test_malformed_headers_are_rejected(header: str | None) -> None:
    with pytest.raises(WebhookSignatureError):
        verify_signature(SECRET, header, BODY, now=NOW)


def test_any_of_several_signatures_may_match() -> None:
    good = sign(SECRET, BODY, NOW)
    verify_signature(SECRET, f"t={NOW},v1={'0' * 64},v1={good}", BODY, now=NOW)
