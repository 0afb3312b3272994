"""System checks: production settings must not carry a development shortcut for identity."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from . import platform


@register(Tags.security, deploy=True)
def identity_production_settings(app_configs, **kwargs):
    errors = []
    conf = platform.config()
    urls = [conf.issuer, conf.sign_api, *conf.crl_urls]
    plain = [url for url in urls if url and not url.startswith("https://")]
    if plain and not settings.DEBUG:
        errors.append(
            Error(
                "The マイナンバーカード platform must be reached over https in production.",
                hint="Set MACHIBA_JPKI_ISSUER, MACHIBA_JPKI_SIGN_API and MACHIBA_JPKI_CRL_URLS "
                f"to https:// addresses (found {', '.join(plain)}).",
                id="identity.E001",
            )
        )
    if getattr(settings, "MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN", False) and not settings.DEBUG:
        errors.append(
            Error(
                "Security keys must only be accepted from an https origin in production.",
                hint="Unset MACHIBA_WEBAUTHN_ALLOW_INSECURE_ORIGIN.",
                id="identity.E002",
            )
        )
    if conf.login_enabled and not conf.signing_enabled and not settings.DEBUG:
        errors.append(
            Error(
                "Login with the マイナンバーカード is configured but signing is not: "
                "procedures that need a JPKI signature could not be filed online.",
                hint="Set MACHIBA_JPKI_SIGN_API, MACHIBA_JPKI_CA_FILE and MACHIBA_JPKI_CRL_URLS.",
                id="identity.E003",
            )
        )
    return errors
