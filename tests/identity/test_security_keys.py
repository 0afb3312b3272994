"""Security keys (WebAuthn) for the staff who can reveal My Number."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator

from cityhall.models import AuditEvent
from factories import PASSWORD, TOTP_SECRET

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys_required(settings):
    settings.REQUIRE_SECURITY_KEY_FOR_MYNUMBER = True


def _add_key(user):
    return Authenticator.objects.create(
        user=user,
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "key", "credential": {}, "passwordless": False},
    )


def _used_key_in_session(client, user):
    session = client.session
    session["account_authentication_methods"] = [
        {"method": "password", "at": time.time()},
        {"method": "mfa", "type": "webauthn", "at": time.time()},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()


@pytest.mark.django_db
def test_a_supervisor_without_a_key_is_sent_to_register_one(client, supervisor, keys_required):
    client.force_login(supervisor)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.url == "/accounts/2fa/webauthn/add/"


@pytest.mark.django_db
def test_a_supervisor_who_signed_in_with_a_code_must_use_the_key(client, supervisor, keys_required):
    _add_key(supervisor)
    client.force_login(supervisor)
    response = client.get("/staff/residents/")
    assert response.status_code == 302
    assert response.url == "/accounts/2fa/webauthn/reauthenticate/?next=%2Fstaff%2Fresidents%2F"
    api = client.get("/api/residents/")
    assert api.status_code == 403
    assert "セキュリティキー" in api.json()["detail"]


@pytest.mark.django_db
def test_a_supervisor_who_used_the_key_opens_the_staff_pages(client, supervisor, keys_required):
    _add_key(supervisor)
    client.force_login(supervisor)
    _used_key_in_session(client, supervisor)
    assert client.get("/staff/").status_code == 200


@pytest.mark.django_db
def test_clerks_who_cannot_reveal_my_number_keep_their_authenticator_app(
    client, clerk, keys_required
):
    client.force_login(clerk)
    assert client.get("/staff/").status_code == 200


@pytest.mark.django_db
def test_with_the_setting_off_a_code_is_enough(client, supervisor, settings):
    settings.REQUIRE_SECURITY_KEY_FOR_MYNUMBER = False
    client.force_login(supervisor)
    assert client.get("/staff/").status_code == 200


def test_production_settings_require_keys_and_refuse_insecure_origins():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DJANGO_SETTINGS_MODULE="cityhall.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="a-long-random-production-secret-" + "x7Q9!kLm2#pZ" * 4,
        MACHIBA_MYNUMBER_KEYS="production-key-from-the-environment-0001",
        MACHIBA_WEBAUTHN_ALLOW_INSECURE_ORIGIN="true",
    )
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.REQUIRE_SECURITY_KEY_FOR_MYNUMBER, settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN,"
        " 'webauthn' in settings.MFA_SUPPORTED_TYPES)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["True", "False", "True"], result.stderr


def _add_virtual_authenticator(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_supervisor_registers_a_security_key_and_signs_in_with_it(
    page, supervisor, login_in_browser, keys_required
):
    cdp, authenticator_id = _add_virtual_authenticator(page)
    login_in_browser(page, supervisor.email, PASSWORD, totp_secret=TOTP_SECRET)
    page.goto("/staff/")
    # allauth asks for the password again before a new key is added.
    assert "next=%2Faccounts%2F2fa%2Fwebauthn%2Fadd%2F" in page.url
    assert "セキュリティキー（パスキー）の登録が必要です" in page.content()
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/2fa/webauthn/add/" in url)
    page.fill("input[name=name]", "窓口のICカード")
    page.locator("#mfa_webauthn_add").click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    assert Authenticator.objects.filter(user=supervisor, type="webauthn").exists()
    # The key lives in Chromium's virtual authenticator, as it would on a real card or token.
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(credentials["credentials"]) == 1

    # Signed in with the app's code only: the key must still be used before /staff/ opens.
    page.goto("/staff/")
    assert "/accounts/2fa/webauthn/reauthenticate/" in page.url
    page.locator("#mfa_webauthn_reauthenticate").click()
    page.wait_for_url(lambda url: url.endswith("/staff/"))
    assert page.locator("h1").inner_text() == "職員ダッシュボード"

    page.locator("form[action='/accounts/logout/'] button").click()
    page.goto("/accounts/login/")
    page.fill("input[name=login]", supervisor.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.locator("#mfa_webauthn_authenticate").click()
    page.wait_for_url(lambda url: "/accounts/2fa/authenticate/" not in url)
    page.goto("/staff/")
    assert page.locator("h1").inner_text() == "職員ダッシュボード"
    used = AuditEvent.objects.filter(
        action="identity.authenticated.mfa", actor=supervisor, details__type="webauthn"
    )
    assert used.count() == 2
    assert AuditEvent.objects.filter(action="identity.authenticator_added").exists()


@pytest.mark.django_db
def test_the_second_step_does_not_offer_a_security_key_to_people_without_one(client, clerk):
    # (With a key the button is there: the browser test above signs in with it.)
    client.post("/accounts/login/", {"login": clerk.email, "password": PASSWORD})
    page = client.get("/accounts/2fa/authenticate/").content.decode()
    assert 'name="code"' in page
    assert 'id="mfa_webauthn_authenticate"' not in page
