from __future__ import annotations

from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Client, OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.http import Http404
from django.urls import reverse

from identity import platform


class CardOAuth2Client(OAuth2Client):
    """Exchanges the code with PKCE and our client authentication (private_key_jwt or secret)."""

    def get_access_token(self, code, pkce_code_verifier=None, extra_data=None):
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.callback_url,
        }
        if pkce_code_verifier:
            data["code_verifier"] = pkce_code_verifier
        try:
            return platform.token_request(data | (extra_data or {}))
        except platform.PlatformError as exc:
            raise OAuth2Error(str(exc)) from exc


class CardOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    client_class = CardOAuth2Client

    def __init__(self, request, provider_id="jpki") -> None:
        super().__init__(request, provider_id)

    def get_callback_url(self, request, app):
        return build_absolute_uri(request, reverse("jpki_callback"))


def login(request):
    try:
        return OAuth2LoginView.adapter_view(CardOAuth2Adapter(request))(request)
    except SocialApp.DoesNotExist:
        # No platform configured: the button is not shown, and the address does not exist.
        raise Http404 from None


def callback(request):
    try:
        return OAuth2CallbackView.adapter_view(CardOAuth2Adapter(request))(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
