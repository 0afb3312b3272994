"""Signed provider notifications: HMAC-SHA256 over ``timestamp + "." + raw body``.

Header (Stripe's shape, which most providers copy)::

    Machiba-Signature: t=1767139200,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

A notification is accepted when one ``v1`` matches one of the configured secrets (several during
key rotation, ``settings.PAYMENTS_WEBHOOK_SECRETS``) and its timestamp is at most five minutes old
(or ahead): a captured request replayed later is refused. Pure functions, no ORM.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

SIGNATURE_HEADER = "Machiba-Signature"
TOLERANCE_SECONDS = 300


class InvalidSignature(ValueError):
    """The notification is not signed by one of our secrets, or is too old."""


class MalformedNotification(InvalidSignature):
    """Signed by one of our secrets, but not a notification the provider's format describes."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """The header's timestamp when the signature is good; :class:`InvalidSignature` otherwise."""
    if not header:
        raise InvalidSignature("signature header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("signature header needs t=<unix time> and v1=<hex>")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature(f"timestamp {timestamp} is outside the {tolerance}-second window")
    for secret in secrets:
        expected = sign(secret, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return timestamp
    raise InvalidSignature("no signature matches a configured secret")
