"""A test certification authority in the shape of JPKI's signing CA, made at test time.

It issues 署名用電子証明書-like certificates carrying the holder's four basic facts in the
subjectAltName (J-LIS arc 1.2.392.200149.8.5.5), signs revocation lists, and signs digests the
way the card does (PKCS#1 v1.5 over SHA-256). Never used outside the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

from identity import jpki

# Small keys keep the tests fast; the checks do not depend on the key size.
KEY_SIZE = 2048


def _utf8(value: str) -> bytes:
    body = value.encode("utf-8")
    if len(body) < 0x80:
        return bytes([0x0C, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(size)]) + size + body


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


@dataclass
class Card:
    """A card holder's signing key and certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    facts: dict

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(jpki.digest_of(data), padding.PKCS1v15(), Prehashed(hashes.SHA256()))


@dataclass
class SigningCA:
    name: str = "Machiba Test JPKI Sign CA"
    key: rsa.RSAPrivateKey = field(default_factory=_key)
    revoked: dict[int, datetime] = field(default_factory=dict)
    certificate: x509.Certificate | None = None
    crl_number: int = 0

    def __post_init__(self) -> None:
        now = datetime.now(UTC)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Machiba Test"),
                x509.NameAttribute(NameOID.COMMON_NAME, self.name),
            ]
        )
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=365))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issue(
        self,
        *,
        name: str,
        address: str,
        birth_date: date,
        sex: str,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> Card:
        now = datetime.now(UTC)
        key = _key()
        sex_code = {"male": "1", "female": "2"}.get(sex, "3")
        born = f"4{birth_date:%Y%m%d}"
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                        x509.NameAttribute(NameOID.COMMON_NAME, f"card-{now.timestamp():.0f}"),
                    ]
                )
            )
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or now - timedelta(days=30))
            .not_valid_after(valid_until or now + timedelta(days=5 * 365))
            .add_extension(
                x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.OtherName(jpki.OID_NAME, _utf8(name)),
                        x509.OtherName(jpki.OID_SEX, _utf8(sex_code)),
                        x509.OtherName(jpki.OID_BIRTH_DATE, _utf8(born)),
                        x509.OtherName(jpki.OID_ADDRESS, _utf8(address)),
                    ]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        facts = {
            "name": name,
            "address": address,
            "birthdate": birth_date.isoformat(),
            "gender": sex_code,
        }
        return Card(key=key, certificate=certificate, facts=facts)

    def revoke(self, card: Card, *, at: datetime | None = None) -> None:
        self.revoked[card.certificate.serial_number] = at or datetime.now(UTC) - timedelta(
            minutes=5
        )

    def crl(
        self, *, this_update: datetime | None = None, next_update: datetime | None = None
    ) -> x509.CertificateRevocationList:
        now = datetime.now(UTC)
        self.crl_number += 1
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(this_update or now - timedelta(minutes=1))
            .next_update(next_update or now + timedelta(days=1))
            .add_extension(x509.CRLNumber(self.crl_number), critical=False)
        )
        for serial, when in self.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self.key, hashes.SHA256())

    def crl_der(self) -> bytes:
        return self.crl().public_bytes(serialization.Encoding.DER)
