"""The platform provider (プラットフォーム事業者) that reads the マイナンバーカード: デジタル庁's
デジタル認証アプリ, or another provider with the same OpenID Connect shape.

Everything here is configuration and HTTP; nothing decides whether a signature is good (that is
`identity.jpki`). Settings come from the environment (cityhall/settings.py, README):

- MACHIBA_JPKI_ISSUER: the provider's issuer URL (its /.well-known/openid-configuration is read)
- MACHIBA_JPKI_CLIENT_ID and either MACHIBA_JPKI_CLIENT_KEY_FILE (private_key_jwt, what
  デジタル認証アプリ requires) or MACHIBA_JPKI_CLIENT_SECRET (client_secret_post)
- MACHIBA_JPKI_SIGN_API: base URL of the signing API (POST …/sign-transactions)
- MACHIBA_JPKI_CA_FILE: PEM file of the 署名用認証局 certificate(s) signatures must chain to
- MACHIBA_JPKI_CRL_URLS: where the CA's current revocation list is published

The signing flow follows the platform's guideline: a client-credentials token starts a sign
transaction for the SHA-256 digest, the resident authorises it with an authorization-code
request (scope "openid sign", PKCE S256, the transaction id), and the RP fetches the signature
and certificate with the resulting access token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

import jwt
import requests
from cryptography import x509
from django.conf import settings
from django.core.cache import cache

from . import jpki

TIMEOUT = 10
LOGIN_SCOPE = ("openid", "name", "address", "birthdate", "gender")
SIGN_SCOPE = ("openid", "sign")


class PlatformError(Exception):
    """The provider could not be reached or answered something we cannot use."""


@dataclass(frozen=True)
class PlatformConfig:
    issuer: str
    client_id: str
    client_secret: str
    client_key_file: str
    client_key_id: str
    sign_api: str
    ca_file: str
    crl_urls: tuple[str, ...]
    acr_values: str
    name: str

    @property
    def login_enabled(self) -> bool:
        return bool(self.issuer and self.client_id and (self.client_secret or self.client_key_file))

    @property
    def signing_enabled(self) -> bool:
        return self.login_enabled and bool(self.sign_api and self.ca_file and self.crl_urls)


def config() -> PlatformConfig:
    raw = settings.JPKI
    return PlatformConfig(
        issuer=raw.get("ISSUER", "").rstrip("/"),
        client_id=raw.get("CLIENT_ID", ""),
        client_secret=raw.get("CLIENT_SECRET", ""),
        client_key_file=raw.get("CLIENT_KEY_FILE", ""),
        client_key_id=raw.get("CLIENT_KEY_ID", ""),
        sign_api=raw.get("SIGN_API", "").rstrip("/"),
        ca_file=raw.get("CA_FILE", ""),
        crl_urls=tuple(raw.get("CRL_URLS", ())),
        acr_values=raw.get("ACR_VALUES", ""),
        name=raw.get("NAME", "") or "デジタル認証アプリ",
    )


def discovery(conf: PlatformConfig | None = None) -> dict:
    """The provider's OpenID configuration (cached for a few minutes)."""
    conf = conf or config()
    key = "identity:discovery:" + hashlib.sha256(conf.issuer.encode()).hexdigest()[:16]
    found = cache.get(key)
    if found is None:
        found = _get_json(f"{conf.issuer}/.well-known/openid-configuration")
        cache.set(key, found, 300)
    return found


def _get_json(url: str, **kwargs) -> dict:
    try:
        response = requests.get(url, timeout=TIMEOUT, **kwargs)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise PlatformError(f"GET {url}: {exc}") from exc


@lru_cache(maxsize=4)
def _private_key(path: str) -> bytes:
    return Path(path).read_bytes()


def client_authentication(token_endpoint: str, conf: PlatformConfig | None = None) -> dict:
    """Form fields that authenticate us at the token endpoint.

    private_key_jwt (RFC 7523) when a key file is configured, as デジタル認証アプリ requires;
    client_secret_post otherwise.
    """
    conf = conf or config()
    if conf.client_key_file:
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": conf.client_id,
                "sub": conf.client_id,
                "aud": token_endpoint,
                "jti": uuid.uuid4().hex,
                "iat": now,
                "exp": now + 60,
            },
            _private_key(conf.client_key_file),
            algorithm="RS256",
            headers={"kid": conf.client_key_id} if conf.client_key_id else None,
        )
        return {
            "client_id": conf.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
    return {"client_id": conf.client_id, "client_secret": conf.client_secret}


def token_request(data: dict, conf: PlatformConfig | None = None) -> dict:
    """POST to the token endpoint with our client authentication; the JSON answer."""
    conf = conf or config()
    endpoint = discovery(conf)["token_endpoint"]
    try:
        response = requests.post(
            endpoint, data=data | client_authentication(endpoint, conf), timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        raise PlatformError(f"token endpoint: {exc}") from exc
    if response.status_code != 200:
        raise PlatformError(f"token endpoint answered {response.status_code}: {response.text}")
    body = response.json()
    if "access_token" not in body:
        raise PlatformError("token endpoint gave no access token")
    return body


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def start_sign_transaction(*, digest: bytes, conf: PlatformConfig | None = None) -> str:
    """Register the digest to be signed; the platform's transaction id."""
    conf = conf or config()
    token = token_request({"grant_type": "client_credentials", "scope": "sign"}, conf)
    try:
        response = requests.post(
            f"{conf.sign_api}/sign-transactions",
            json={
                "hash_algorithm": "SHA-256",
                "hashes": [base64.b64encode(digest).decode()],
            },
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        transaction_id = response.json()["sign_transaction_id"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise PlatformError(f"sign transaction: {exc}") from exc
    return str(transaction_id)


def signing_authorization_url(
    *, transaction_id: str, state: str, code_challenge: str, redirect_uri: str
) -> str:
    """Where the resident's browser goes to read the card and sign (PIN on the card)."""
    conf = config()
    params = {
        "response_type": "code",
        "client_id": conf.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(SIGN_SCOPE),
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "sign_transaction_id": transaction_id,
        # Every signature reads the card again: never an earlier session at the provider.
        "prompt": "login",
    }
    return f"{discovery(conf)['authorization_endpoint']}?{urlencode(params)}"


@dataclass(frozen=True)
class SignResult:
    signature: bytes
    certificate: bytes


def fetch_sign_result(
    *, code: str, code_verifier: str, redirect_uri: str, transaction_id: str
) -> SignResult:
    """Exchange the code (with the PKCE verifier) and fetch the signature and certificate."""
    conf = config()
    token = token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        },
        conf,
    )
    body = _get_json(
        f"{conf.sign_api}/sign-transactions/{transaction_id}/result",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    try:
        return SignResult(
            signature=base64.b64decode(body["signatures"][0]),
            certificate=body["certificate"].encode(),
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise PlatformError(f"sign result: {exc}") from exc


def trust_anchors() -> list[x509.Certificate]:
    conf = config()
    try:
        return jpki.load_certificates(Path(conf.ca_file).read_bytes())
    except OSError as exc:
        raise PlatformError(f"CA file {conf.ca_file}: {exc}") from exc


@dataclass(frozen=True)
class FetchedCrl:
    crl: x509.CertificateRevocationList | None
    source: str


def current_crl() -> FetchedCrl:
    """The first revocation list that can be fetched, as published (verified by jpki)."""
    conf = config()
    for url in conf.crl_urls:
        try:
            response = requests.get(url, timeout=TIMEOUT)
            response.raise_for_status()
        except requests.RequestException:
            continue
        try:
            return FetchedCrl(crl=jpki.load_crl(response.content), source=url)
        except jpki.SignatureRefused:
            continue
    return FetchedCrl(crl=None, source=", ".join(conf.crl_urls))
