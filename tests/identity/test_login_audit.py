"""Every way of signing in, and every failure, leaves an audit row."""

import pytest

from cityhall.models import AuditEvent
from factories import PASSWORD, TOTP_SECRET, current_totp

pytestmark = pytest.mark.django_db


def _login(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_a_password_sign_in_is_audited_with_its_method(client, resident_user):
    _login(client, resident_user.email, PASSWORD)
    step = AuditEvent.objects.get(action="identity.authenticated.password")
    assert step.actor_id == resident_user.pk
    logged_in = AuditEvent.objects.get(action="identity.logged_in")
    assert logged_in.details["methods"] == ["password"]
    assert logged_in.ip_address == "127.0.0.1"


def test_a_wrong_password_is_audited_without_the_password(client, resident_user):
    _login(client, resident_user.email, "not-the-password")
    failed = AuditEvent.objects.get(action="identity.login_failed")
    assert failed.details["login"] == resident_user.email
    assert "not-the-password" not in str(failed.details)
    assert not AuditEvent.objects.filter(action="identity.logged_in").exists()


def test_the_authenticator_app_step_is_audited(client, clerk):
    response = _login(client, clerk.email, PASSWORD)
    assert response.url == "/accounts/2fa/authenticate/"
    client.post(
        "/accounts/2fa/authenticate/",
        {"code": current_totp(TOTP_SECRET)},
    )
    mfa = AuditEvent.objects.get(action="identity.authenticated.mfa")
    assert mfa.details["type"] == "totp"
    logged_in = AuditEvent.objects.get(action="identity.logged_in")
    assert logged_in.details["methods"] == ["password", "totp"]


def test_a_wrong_authenticator_code_is_audited(client, clerk):
    _login(client, clerk.email, PASSWORD)
    client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    failed = AuditEvent.objects.get(action="identity.mfa_failed")
    assert failed.actor_id == clerk.pk
    assert failed.details["type"] == "totp"


def test_a_refused_card_sign_in_is_audited(client, settings):
    settings.JPKI = {
        "ISSUER": "https://platform.example.jp",
        "CLIENT_ID": "city",
        "CLIENT_SECRET": "secret",
    }
    response = client.get("/accounts/jpki/login/callback/", {"error": "access_denied"})
    # allauth's "sign-in failed" page
    assert response.status_code == 401
    failed = AuditEvent.objects.get(action="identity.card_login_failed")
    assert failed.object_id == "jpki"
    assert failed.details["error"]


def test_without_a_configured_platform_the_card_pages_do_not_exist(client, settings):
    settings.JPKI = {}
    assert client.post("/accounts/jpki/login/").status_code == 404
    assert "マイナンバーカードでログイン" not in client.get("/accounts/login/").content.decode()
