"""A real OpenID provider for the マイナンバーカード tests: the npm package oidc-provider, run with
node from tests/idp (installed by the Makefile from its package-lock.json), with a test CA made
here with `cryptography`, card holders whose certificates carry their four basic facts, and a
revocation list."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jpki_testca import Card, SigningCA

ROOT = Path(__file__).resolve().parents[2]
IDP_DIR = ROOT / "tests" / "idp"
CLIENT_ID = "machibatest"
CITY_ADDRESS = "東京都まちば市"

# The card holders of the tests; residents with the same facts are made per test.
HANAKO = {
    "name": "山田 花子",
    "address": f"{CITY_ADDRESS}本町3丁目5番12号",
    "birth_date": date(1990, 1, 2),
    "sex": "female",
}
CARDS = {
    "hanako": HANAKO,
    "expired": HANAKO,
    "revoked": HANAKO,
    "tampered": HANAKO,
    # 外字: the register writes 髙橋, the card the substitute 高橋.
    "takahashi": {
        "name": "高橋 一郎",
        "address": f"{CITY_ADDRESS}本町1丁目2番3号",
        "birth_date": date(1975, 6, 7),
        "sex": "male",
    },
    # Moved within the city but the card still has the old address.
    "moved": {
        "name": "佐藤 次郎",
        "address": f"{CITY_ADDRESS}旧町9番地",
        "birth_date": date(1982, 8, 9),
        "sex": "male",
    },
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalPlatform:
    issuer: str
    ca: SigningCA
    cards: dict[str, Card]
    ca_file: Path
    client_key_file: Path
    crl_file: Path

    def settings(self) -> dict:
        return {
            "NAME": "テスト用認証サーバ",
            "ISSUER": self.issuer,
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": "",
            "CLIENT_KEY_FILE": str(self.client_key_file),
            "CLIENT_KEY_ID": "machiba-test-rp",
            "ACR_VALUES": "",
            "SIGN_API": f"{self.issuer}/api",
            "CA_FILE": str(self.ca_file),
            "CRL_URLS": [f"{self.issuer}/crl"],
        }


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "node and tests/idp/node_modules are needed: run `make test` (it installs them)"
        )
    return node


@pytest.fixture(scope="session")
def local_platform(live_server, tmp_path_factory):
    """The local マイナンバーカード platform, registered for the live server's callbacks."""
    work = tmp_path_factory.mktemp("idp")
    ca = SigningCA()
    now = datetime.now(UTC)
    cards: dict[str, Card] = {}
    for key, facts in CARDS.items():
        validity = {}
        if key == "expired":
            validity = {
                "valid_from": now - timedelta(days=5 * 365),
                "valid_until": now - timedelta(days=1),
            }
        cards[key] = ca.issue(**facts, **validity)
    ca.revoke(cards["revoked"])
    crl_file = work / "ca.crl"
    crl_file.write_bytes(ca.crl_der())
    ca_file = work / "ca.pem"
    ca_file.write_text(ca.certificate_pem)

    client_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client_key_file = work / "rp-key.pem"
    client_key_file.write_bytes(
        client_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    from jwt.algorithms import RSAAlgorithm

    jwk = json.loads(RSAAlgorithm.to_jwk(client_key.public_key()))
    jwk |= {"kid": "machiba-test-rp", "use": "sig", "alg": "RS256"}

    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = {
        "issuer": issuer,
        "port": port,
        "crl_file": str(crl_file),
        "client": {
            "client_id": CLIENT_ID,
            "redirect_uris": [
                f"{live_server.url}/accounts/jpki/login/callback/",
                f"{live_server.url}/identity/sign/callback/",
            ],
            "jwks": {"keys": [jwk]},
        },
        "cards": {
            key: {
                "claims": card.facts,
                "key_pem": card.key_pem,
                "certificate_pem": card.certificate_pem,
                "tamper": key == "tampered",
            }
            for key, card in cards.items()
        },
    }
    config_file = work / "config.json"
    config_file.write_text(json.dumps(config, ensure_ascii=False))
    log = (work / "idp.log").open("w")
    proc = subprocess.Popen(
        [_node(), str(IDP_DIR / "server.js"), str(config_file)],
        cwd=IDP_DIR,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "NODE_ENV": "test"},
    )
    deadline = time.monotonic() + 30
    line = proc.stdout.readline()
    if not line.startswith("ready") or time.monotonic() > deadline:
        proc.kill()
        pytest.fail(f"the local OpenID provider did not start: {line!r}, see {work / 'idp.log'}")
    yield LocalPlatform(
        issuer=issuer,
        ca=ca,
        cards=cards,
        ca_file=ca_file,
        client_key_file=client_key_file,
        crl_file=crl_file,
    )
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def jpki_platform(local_platform, settings):
    """Machiba configured for the local platform, as a city sets the environment variables."""
    settings.JPKI = local_platform.settings()
    settings.CITY_NAME = "まちば市"
    return local_platform
