"""A real server with production settings (DEBUG off, gunicorn, its own process): no sandbox page,
no card option without a provider — the statement says how else to pay — or a real provider's
checkout when one is configured; never a 500. And ``check --deploy`` warns when the
sandbox is named in production."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from factories_payments import make_charge, make_resident
from stripe_stub import SECRET_KEY, WEBHOOK_SECRET, StripeStub

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTION_SECRET = "a-long-random-production-secret-" + "x7Q9!kLm2#pZ" * 4


def _production_env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MACHIBA_PAYMENT", "MACHIBA_STRIPE", "PYTEST", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="cityhall.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=PRODUCTION_SECRET,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,city.example.jp",
        MACHIBA_MYNUMBER_KEYS="production-key-from-the-environment-0001",
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Server:
    """gunicorn with production settings on the test database, and a browser-like opener."""

    def __init__(self, **env) -> None:
        db = connection.settings_dict
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = _production_env(
            DATABASE_URL=(
                f"postgis://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}"
                f"/{db['NAME']}"
            ),
            # Plain HTTP on loopback: no redirect to https, cookies without the Secure flag.
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_SECURE_COOKIES="false",
            **env,
        )
        self.cookies = http.cookiejar.CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.cookies), _NoRedirect())

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "cityhall.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "1",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if self.get("/livez")[0] == 200:
                    return self
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stdout.read().decode())
            time.sleep(0.5)
        raise RuntimeError("the production server did not start")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def sign_in(self, user) -> None:
        """A session for ``user`` made the way Django makes one (the server shares the
        database and, for the session hash, the secret key)."""
        from django.test import override_settings

        with override_settings(SECRET_KEY=PRODUCTION_SECRET):
            client = Client()
            client.force_login(user)
            value = client.cookies[settings.SESSION_COOKIE_NAME].value
        self.cookies.set_cookie(
            http.cookiejar.Cookie(
                0,
                settings.SESSION_COOKIE_NAME,
                value,
                None,
                False,
                "127.0.0.1",
                False,
                False,
                "/",
                True,
                False,
                None,
                False,
                None,
                None,
                {},
            )
        )

    def _open(self, request: Request) -> tuple[int, dict, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read().decode()
        except HTTPError as error:
            return error.code, dict(error.headers), error.read().decode(errors="replace")

    def get(self, path: str) -> tuple[int, dict, str]:
        return self._open(Request(self.url + path))

    def post(self, path: str, data: dict, *, csrf_from: str) -> tuple[int, dict, str]:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', csrf_from).group(1)
        body = urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        return self._open(
            Request(
                self.url + path,
                data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        )


def test_production_server_without_a_provider_offers_other_ways_to_pay_and_no_sandbox(
    resident_user,
):
    payer = make_resident(user=resident_user)
    fee = make_charge(payer, code="fee", parts=[(date(2030, 6, 28), 300)])
    make_charge(payer, parts=[(date(2030, 6, 28), 12_000)])
    with Server() as server:
        server.sign_in(resident_user)
        status, _headers, page = server.get("/my/statement/")
        assert status == 200
        assert 'id="no-card-payment"' in page and "コンビニエンスストア" in page
        assert "口座振替" in page and "窓口" in page
        assert 'name="installment"' not in page and "すべて支払う" not in page
        # Someone posting the old form anyway gets a message, not an error.
        status, headers, _body = server.post(
            "/my/statement/pay/", {"all": "1", "idempotency_key": "x"}, csrf_from=page
        )
        assert status == 302 and headers["Location"] == "/my/statement/"
        status, _headers, page = server.get("/my/statement/")
        assert "オンラインでのお支払いは現在ご利用いただけません" in page
        status, _headers, page = server.get(f"/pay/charge/{fee.pk}/?next=/my/statement/")
        assert status == 200 and "カードで支払う" not in page and 'id="no-card-payment"' in page
        # No sandbox anywhere: its checkout page and its webhook door are gone.
        assert server.get("/pay/sandbox/any-token/")[0] == 404
        request = Request(
            server.url + "/api/payments/webhooks/sandbox/",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        assert server._open(request)[0] == 404


def test_production_server_with_a_real_provider_sends_the_payer_to_its_checkout(resident_user):
    payer = make_resident(user=resident_user)
    make_charge(payer, parts=[(date(2030, 6, 28), 12_000)])
    stub = StripeStub().start()
    try:
        with Server(
            MACHIBA_PAYMENT_PROVIDERS="stripe",
            MACHIBA_STRIPE_SECRET_KEY=SECRET_KEY,
            MACHIBA_STRIPE_WEBHOOK_SECRETS=WEBHOOK_SECRET,
            MACHIBA_STRIPE_API_BASE=stub.url,
            MACHIBA_SITE_URL="https://city.example.jp",
        ) as server:
            server.sign_in(resident_user)
            status, _headers, page = server.get("/my/statement/")
            assert status == 200 and "すべて支払う" in page and 'id="no-card-payment"' not in page
            status, headers, _body = server.post(
                "/my/statement/pay/", {"all": "1", "idempotency_key": "y"}, csrf_from=page
            )
            assert status == 302 and headers["Location"].startswith(f"{stub.url}/pay/cs_test_")
            assert server.get("/pay/sandbox/any-token/")[0] == 404
        (session,) = stub.sessions.values()
        assert session["amount_total"] == 12_000
        assert session["success_url"].startswith("https://city.example.jp/pay/return/?")
    finally:
        stub.stop()


def test_check_deploy_warns_when_the_sandbox_is_named_in_production():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(MACHIBA_PAYMENT_PROVIDERS="sandbox"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "payments.W001" in output and "sandbox" in output
