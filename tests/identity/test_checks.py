"""Production settings carry no development shortcut for identity (manage.py check --deploy)."""

from identity.checks import identity_production_settings

PLATFORM = {
    "ISSUER": "https://platform.example.jp",
    "CLIENT_ID": "city",
    "CLIENT_KEY_FILE": "/etc/machiba/rp-key.pem",
    "SIGN_API": "https://platform.example.jp/api",
    "CA_FILE": "/etc/machiba/jpki-sign-ca.pem",
    "CRL_URLS": ["https://crl.example.jp/sign.crl"],
}


def _ids(settings):
    return [error.id for error in identity_production_settings(None)]


def test_a_complete_https_platform_passes(settings):
    settings.DEBUG = False
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
    settings.JPKI = PLATFORM
    assert _ids(settings) == []


def test_a_plain_http_platform_fails_in_production(settings):
    settings.DEBUG = False
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
    settings.JPKI = PLATFORM | {"ISSUER": "http://127.0.0.1:3000"}
    assert _ids(settings) == ["identity.E001"]


def test_insecure_webauthn_origins_fail_in_production(settings):
    settings.DEBUG = False
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
    settings.JPKI = {}
    assert _ids(settings) == ["identity.E002"]


def test_login_by_card_without_signing_fails_in_production(settings):
    settings.DEBUG = False
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
    settings.JPKI = PLATFORM | {"CRL_URLS": []}
    assert _ids(settings) == ["identity.E003"]
