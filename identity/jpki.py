"""Checking a 公的個人認証 (JPKI) signature without the database.

A resident signs with the 署名用電子証明書 of their マイナンバーカード (電子署名等に係る地方公共団体情報
システム機構の認証業務に関する法律, 公的個人認証法). The city, as 署名検証者 (同法17条), must confirm
before relying on it that

1. the certificate was issued by the configured signing CA (the chain ends at a trust anchor),
2. the certificate and that CA were valid at the time of signing,
3. the certificate was not revoked then (a CRL signed by the same CA and still current; 同法
   施行規則: the 失効情報 is what J-LIS publishes for 署名検証者), and
4. the signature is over the SHA-256 digest of exactly the bytes we asked the resident to sign.

The 署名用電子証明書 carries the holder's four basic facts (基本4情報) in its subjectAltName as
otherName values under J-LIS's arc 1.2.392.200149.8.5.5: 氏名 (.1), 性別 (.3), 生年月日 (.4, an era
digit then YYYYMMDD) and 住所 (.5). `signer_facts` reads them so the clerk sees who signed.

Pure functions on bytes and `cryptography` objects; the caller fetches certificates and CRLs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import ExtensionOID

# J-LIS's arc for the holder's personal data in JPKI certificates.
OID_NAME = x509.ObjectIdentifier("1.2.392.200149.8.5.5.1")
OID_SEX = x509.ObjectIdentifier("1.2.392.200149.8.5.5.3")
OID_BIRTH_DATE = x509.ObjectIdentifier("1.2.392.200149.8.5.5.4")
OID_ADDRESS = x509.ObjectIdentifier("1.2.392.200149.8.5.5.5")

# JPKI writes sex as a digit: 1 男, 2 女 (3 is "not stated").
SEX_CODES = {"1": "male", "2": "female"}

# Why a signature is refused; the service maps each to a sentence for people.
TAMPERED = "tampered"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
REVOKED = "revoked"
UNTRUSTED = "untrusted"
MALFORMED = "malformed"
NOT_FOR_SIGNING = "not_for_signing"
REVOCATION_UNKNOWN = "revocation_unknown"
REFUSAL_CODES = (
    TAMPERED,
    EXPIRED,
    NOT_YET_VALID,
    REVOKED,
    UNTRUSTED,
    MALFORMED,
    NOT_FOR_SIGNING,
    REVOCATION_UNKNOWN,
)


class SignatureRefused(Exception):
    """The signature cannot be relied on; `code` is one of REFUSAL_CODES."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class SignerFacts:
    """基本4情報 as written in the certificate (or as a platform returned them)."""

    name: str
    address: str
    birth_date: date | None
    sex: str  # "male", "female" or "" when not stated


@dataclass(frozen=True)
class Revocation:
    status: str  # "good": the certificate is not on a current CRL of its CA
    crl_number: int | None
    this_update: datetime
    next_update: datetime | None


@dataclass(frozen=True)
class VerifiedSignature:
    digest: bytes
    certificate: x509.Certificate
    facts: SignerFacts
    revocation: Revocation

    @property
    def serial_hex(self) -> str:
        return format(self.certificate.serial_number, "X")

    @property
    def issuer(self) -> str:
        return self.certificate.issuer.rfc4514_string()


def canonical_bytes(payload: Mapping[str, Any]) -> bytes:
    """The bytes a resident signs: JSON with sorted keys, no spaces, UTF-8 text as is.

    The same rules as RFC 8785 (JCS) for the values we sign (strings, integers, booleans, null,
    lists and objects with ASCII keys); floats are refused because their text is not canonical.
    """

    def check(value: Any) -> None:
        if isinstance(value, float):
            raise ValueError("floats have no canonical form; sign integers or strings")
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValueError("object keys must be strings")
                check(item)
        elif isinstance(value, list | tuple):
            for item in value:
                check(item)

    check(payload)
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def digest_of(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes; MALFORMED when it is neither."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise SignatureRefused(MALFORMED, "certificate") from exc


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (the configured trust anchors)."""
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise SignatureRefused(MALFORMED, "trust anchors") from exc


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise SignatureRefused(REVOCATION_UNKNOWN, "the revocation list cannot be read") from exc


def _der_string(value: bytes) -> str:
    """The text of one DER string (UTF8String, PrintableString, IA5String, BMPString)."""
    if len(value) < 2:
        raise ValueError("short DER value")
    tag, length, offset = value[0], value[1], 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(value[2 : 2 + size], "big")
        offset = 2 + size
    body = value[offset : offset + length]
    if len(body) != length:
        raise ValueError("truncated DER value")
    if tag == 0x1E:  # BMPString
        return body.decode("utf-16-be")
    if tag in (0x0C, 0x13, 0x16):  # UTF8String, PrintableString, IA5String
        return body.decode("utf-8")
    raise ValueError(f"unexpected DER tag {tag:#x}")


def parse_birth_date(text: str) -> date | None:
    """JPKI writes an era digit then the Gregorian YYYYMMDD ("419900102"); OIDC platforms
    write YYYY-MM-DD. None when it is neither (an unknown day is written with zeros)."""
    digits = text.strip().replace("-", "")
    if len(digits) == 9 and digits.isdigit():
        digits = digits[1:]
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def parse_sex(text: str) -> str:
    value = text.strip().lower()
    if value in SEX_CODES:
        return SEX_CODES[value]
    if value in ("male", "男", "男性"):
        return "male"
    if value in ("female", "女", "女性"):
        return "female"
    return ""


def signer_facts(certificate: x509.Certificate) -> SignerFacts:
    """The holder's 基本4情報 from the certificate's subjectAltName (empty when absent)."""
    values: dict[x509.ObjectIdentifier, str] = {}
    try:
        names = certificate.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME
        ).value
    except x509.ExtensionNotFound:
        names = x509.SubjectAlternativeName([])
    for other in names.get_values_for_type(x509.OtherName):
        if other.type_id in (OID_NAME, OID_SEX, OID_BIRTH_DATE, OID_ADDRESS):
            try:
                values[other.type_id] = _der_string(other.value)
            except (ValueError, UnicodeDecodeError) as exc:
                raise SignatureRefused(MALFORMED, "subjectAltName") from exc
    return SignerFacts(
        name=values.get(OID_NAME, ""),
        address=values.get(OID_ADDRESS, ""),
        birth_date=parse_birth_date(values.get(OID_BIRTH_DATE, "")),
        sex=parse_sex(values.get(OID_SEX, "")),
    )


def _issuer_of(
    certificate: x509.Certificate, anchors: Sequence[x509.Certificate]
) -> x509.Certificate:
    for anchor in anchors:
        if anchor.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return anchor
    raise SignatureRefused(UNTRUSTED, certificate.issuer.rfc4514_string())


def _check_validity(certificate: x509.Certificate, at: datetime, *, what: str) -> None:
    if at < certificate.not_valid_before_utc:
        raise SignatureRefused(NOT_YET_VALID, what)
    if at > certificate.not_valid_after_utc:
        raise SignatureRefused(EXPIRED, what)


def _check_key_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SignatureRefused(NOT_FOR_SIGNING)


def check_revocation(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    crl: x509.CertificateRevocationList | None,
    at: datetime,
) -> Revocation:
    """ "good" when a current CRL signed by the certificate's CA does not list it.

    Without a CRL, or with one from another CA, one past its next update, or one that does not
    verify, the status is unknown and the signature is not relied on.
    """
    if crl is None:
        raise SignatureRefused(REVOCATION_UNKNOWN, "no revocation list")
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
        raise SignatureRefused(REVOCATION_UNKNOWN, "the revocation list is not from the CA")
    next_update = crl.next_update_utc
    if next_update is not None and at > next_update:
        raise SignatureRefused(REVOCATION_UNKNOWN, "the revocation list is out of date")
    if at < crl.last_update_utc:
        raise SignatureRefused(REVOCATION_UNKNOWN, "the revocation list is from the future")
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    if entry is not None and entry.revocation_date_utc <= at:
        raise SignatureRefused(REVOKED, entry.revocation_date_utc.isoformat())
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = None
    return Revocation(
        status="good", crl_number=number, this_update=crl.last_update_utc, next_update=next_update
    )


def _check_signature(certificate: x509.Certificate, digest: bytes, signature: bytes) -> None:
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            # The card signs PKCS#1 v1.5 over the DigestInfo of the SHA-256 digest.
            key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        else:
            raise SignatureRefused(MALFORMED, "unsupported key type")
    except InvalidSignature as exc:
        raise SignatureRefused(TAMPERED) from exc


def verify(
    *,
    data: bytes,
    signature: bytes,
    certificate: bytes,
    trust_anchors: Sequence[x509.Certificate],
    crl: x509.CertificateRevocationList | None,
    at: datetime,
) -> VerifiedSignature:
    """Check a signature over `data` (its SHA-256 digest) as of `at`, or raise SignatureRefused.

    Order: who issued the certificate, whether it and its CA were valid at `at`, whether it is
    meant for signing, whether it was revoked, and last whether the signature matches the data.
    """
    if at.tzinfo is None:
        raise ValueError("`at` must be an aware datetime")
    if not signature:
        raise SignatureRefused(MALFORMED, "empty signature")
    cert = load_certificate(certificate)
    issuer = _issuer_of(cert, trust_anchors)
    _check_validity(issuer, at, what="CA")
    _check_validity(cert, at, what="certificate")
    _check_key_usage(cert)
    revocation = check_revocation(cert, issuer, crl, at)
    digest = digest_of(data)
    _check_signature(cert, digest, signature)
    return VerifiedSignature(
        digest=digest, certificate=cert, facts=signer_facts(cert), revocation=revocation
    )
