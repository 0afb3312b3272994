"""allauth provider for signing in with the マイナンバーカード through the platform provider.

allauth's generic OpenID Connect provider with what デジタル認証アプリ needs on top: the scopes
of the four basic facts, PKCE S256 always, optional acr_values, and private_key_jwt client
authentication at the token endpoint (identity.platform.client_authentication).
"""

from __future__ import annotations

from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.urls import reverse
from django.utils.http import urlencode

from identity import platform

from .views import CardOAuth2Adapter

PROVIDER_ID = "jpki"


class CardProvider(OpenIDConnectProvider):
    id = PROVIDER_ID
    name = "マイナンバーカード"
    oauth2_adapter_class = CardOAuth2Adapter
    # PKCE S256 on every request, whatever the settings say (the platform requires it).
    pkce_enabled_default = True

    def get_pkce_params(self) -> dict:
        from allauth.socialaccount.providers.oauth2.utils import generate_code_challenge

        return generate_code_challenge()

    def get_default_scope(self):
        return list(platform.LOGIN_SCOPE)

    def get_auth_params(self):
        params = super().get_auth_params()
        # The card is read for every sign-in, never a session left at the provider.
        params["prompt"] = "login"
        acr = platform.config().acr_values
        if acr:
            params["acr_values"] = acr
        return params

    def get_login_url(self, request, **kwargs):
        url = reverse("jpki_login")
        return f"{url}?{urlencode(kwargs)}" if kwargs else url

    def get_callback_url(self):
        return reverse("jpki_callback")

    def extract_common_fields(self, data):
        # The platform gives no e-mail address; the account's own address stays the login.
        return {}

    def extract_email_addresses(self, data):
        return []


provider_classes = [CardProvider]
