"""Encryption at rest for My Number (個人番号): AES-256-GCM with rotatable keys, and an HMAC digest.

The same keys seal documents that print a My Number (certificates of residence) and the numbers
typed into applications: one key ring, one rotation.

番号法 and the 特定個人情報ガイドライン ask for My Number to be protected from leaks; here the
database only ever holds ciphertext. Pure functions on bytes and strings: the caller passes the
configured key strings (settings.MYNUMBER_KEYS), the first of which encrypts.

Ciphertext layout (version 1)::

    b"\\x01" | key id (4 bytes) | nonce (12 bytes) | AES-GCM ciphertext and tag

The key id is derived from the key itself, so keys may be listed in any order and a rotation is
"put the new key first, re-encrypt, then drop the old one". The associated data binds the
ciphertext to its resident (the resident code), so a ciphertext copied onto another row does not
decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
_NONCE_BYTES = 12
_KID_BYTES = 4


class VaultError(Exception):
    """No configured key can decrypt the value (unknown key id or tampered ciphertext)."""


@lru_cache(maxsize=32)
def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"machiba-mynumber", info=purpose
    ).derive(secret.encode("utf-8"))


@lru_cache(maxsize=32)
def key_id(secret: str) -> bytes:
    return hashlib.sha256(b"machiba-mynumber-kid:" + secret.encode("utf-8")).digest()[:_KID_BYTES]


@lru_cache(maxsize=32)
def _aead(secret: str) -> AESGCM:
    return AESGCM(_derive(secret, b"aes-256-gcm"))


def _require(keys: Sequence[str]) -> None:
    if not keys:
        raise VaultError("MYNUMBER_KEYS is empty: set MACHIBA_MYNUMBER_KEYS")


def encrypt_bytes(data: bytes, *, keys: Sequence[str], associated: str) -> bytes:
    """Encrypt bytes (a certificate PDF that prints a My Number, …) with the first key."""
    _require(keys)
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(keys[0]).encrypt(nonce, bytes(data), associated.encode("utf-8"))
    return VERSION + key_id(keys[0]) + nonce + sealed


def encrypt(number: str, *, keys: Sequence[str], associated: str) -> bytes:
    """Encrypt a (normalised) My Number with the first key."""
    return encrypt_bytes(number.encode("ascii"), keys=keys, associated=associated)


def ciphertext_key_id(blob: bytes) -> bytes:
    return bytes(blob[1 : 1 + _KID_BYTES])


def decrypt(blob: bytes, *, keys: Sequence[str], associated: str) -> str:
    """Decrypt with whichever configured key the ciphertext names."""
    return decrypt_bytes(blob, keys=keys, associated=associated).decode("ascii")


def decrypt_bytes(blob: bytes, *, keys: Sequence[str], associated: str) -> bytes:
    """Decrypt bytes with whichever configured key the ciphertext names."""
    _require(keys)
    blob = bytes(blob)
    if not blob.startswith(VERSION):
        raise VaultError("unknown ciphertext version")
    kid = ciphertext_key_id(blob)
    nonce = blob[1 + _KID_BYTES : 1 + _KID_BYTES + _NONCE_BYTES]
    sealed = blob[1 + _KID_BYTES + _NONCE_BYTES :]
    for secret in keys:
        if key_id(secret) == kid:
            try:
                plain = _aead(secret).decrypt(nonce, sealed, associated.encode("utf-8"))
            except InvalidTag as exc:
                raise VaultError("ciphertext does not authenticate") from exc
            return plain
    raise VaultError("no configured key matches the ciphertext's key id")


def is_current(blob: bytes, *, keys: Sequence[str]) -> bool:
    """Whether the ciphertext is already under the first (encrypting) key."""
    return ciphertext_key_id(blob) == key_id(keys[0])


def digest(number: str, *, secret: str) -> str:
    """Keyed hash (HMAC-SHA256, hex) for equality checks without decrypting."""
    return hmac.new(_derive(secret, b"hmac-sha256"), number.encode("ascii"), "sha256").hexdigest()


def digests(number: str, *, keys: Sequence[str]) -> list[str]:
    """The digest under every configured key: during a rotation rows carry either."""
    return [digest(number, secret=secret) for secret in keys]
