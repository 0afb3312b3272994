"""LINE Login (OpenID Connect) for linking a portal account to the resident's LINE user.

Authorization code flow: the resident is sent to LINE's authorize endpoint with a `state` and a
`nonce` kept in their session; LINE sends them back with a code; we exchange it at the token
endpoint and verify the ID token (HS256 signed with the channel secret; audience = our channel
id, issuer https://access.line.me, the nonce we sent). Its `sub` is the LINE user id that the
Messaging API sends to (LINE Login and the official account live under one provider).
`bot_prompt=aggressive` offers to add the city's official account as a friend on the way.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings

ISSUER = "https://access.line.me"
TIMEOUT = 10


class LineLoginError(Exception):
    pass


@dataclass(frozen=True)
class LineIdentity:
    user_id: str
    display_name: str
    friend: bool


def configured() -> bool:
    return bool(
        settings.NOTICES_LINE_LOGIN_CHANNEL_ID and settings.NOTICES_LINE_LOGIN_CHANNEL_SECRET
    )


def new_state() -> tuple[str, str]:
    return secrets.token_urlsafe(24), secrets.token_urlsafe(24)


def authorize_url(*, redirect_uri: str, state: str, nonce: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.NOTICES_LINE_LOGIN_CHANNEL_ID,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": "openid profile",
            "nonce": nonce,
            "bot_prompt": "aggressive",
        }
    )
    return f"{settings.NOTICES_LINE_LOGIN_URL.rstrip('/')}/oauth2/v2.1/authorize?{query}"


def exchange(*, code: str, redirect_uri: str, nonce: str) -> LineIdentity:
    base = settings.NOTICES_LINE_LOGIN_API_URL.rstrip("/")
    try:
        response = requests.post(
            f"{base}/oauth2/v2.1/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": settings.NOTICES_LINE_LOGIN_CHANNEL_ID,
                "client_secret": settings.NOTICES_LINE_LOGIN_CHANNEL_SECRET,
            },
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise LineLoginError(type(exc).__name__) from exc
    if response.status_code != 200:
        raise LineLoginError(f"token endpoint answered {response.status_code}")
    tokens = response.json()
    try:
        claims = jwt.decode(
            tokens.get("id_token", ""),
            settings.NOTICES_LINE_LOGIN_CHANNEL_SECRET,
            algorithms=["HS256"],
            audience=settings.NOTICES_LINE_LOGIN_CHANNEL_ID,
            issuer=ISSUER,
            options={"require": ["sub", "aud", "iss", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise LineLoginError(f"ID token refused: {exc}") from exc
    if claims.get("nonce") != nonce:
        raise LineLoginError("ID token nonce does not match")
    friend = False
    try:
        status = requests.get(
            f"{base}/friendship/v1/status",
            headers={"Authorization": f"Bearer {tokens.get('access_token', '')}"},
            timeout=TIMEOUT,
        )
        friend = status.status_code == 200 and bool(status.json().get("friendFlag"))
    except requests.RequestException:
        friend = False
    return LineIdentity(user_id=claims["sub"], display_name=claims.get("name", ""), friend=friend)
