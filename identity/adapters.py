"""allauth's social-account adapter: the マイナンバーカード platform as the one provider.

The provider's app is built from settings.JPKI (the environment), so there is one place that
says which platform the city uses; the four basic facts it returns are kept in the session for
the linking page, which compares them with the register (identity.views.card_link).
"""

from __future__ import annotations

import time

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib.auth.models import Group

from cityhall import audit
from cityhall.roles import RESIDENT

from . import platform
from .card.provider import PROVIDER_ID

CARD_FACTS_SESSION_KEY = "identity.card_facts"


def facts_from_claims(claims: dict) -> dict:
    """The four basic facts from the platform's userinfo, as plain strings.

    address may be a string or an OpenID Connect address object.
    """
    address = claims.get("address") or ""
    if isinstance(address, dict):
        address = address.get("formatted") or "".join(
            str(address.get(part) or "") for part in ("region", "locality", "street_address")
        )
    return {
        "name": str(claims.get("name") or ""),
        "address": str(address),
        "birthdate": str(claims.get("birthdate") or ""),
        "gender": str(claims.get("gender") or ""),
    }


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None):
        from allauth.socialaccount.models import SocialApp

        apps = super().list_apps(request, provider=provider, client_id=client_id)
        conf = platform.config()
        if provider not in (None, PROVIDER_ID) or not conf.login_enabled:
            return apps
        if client_id and client_id != conf.client_id:
            return apps
        return [
            *apps,
            SocialApp(
                provider=PROVIDER_ID,
                provider_id=PROVIDER_ID,
                name=conf.name,
                client_id=conf.client_id,
                secret=conf.client_secret,
                settings={"server_url": conf.issuer},
            ),
        ]

    def pre_social_login(self, request, sociallogin) -> None:
        if sociallogin.account.provider != PROVIDER_ID:
            return
        claims = sociallogin.account.extra_data.get("userinfo") or {}
        request.session[CARD_FACTS_SESSION_KEY] = {
            "uid": sociallogin.account.uid,
            "facts": facts_from_claims(claims),
            "at": time.time(),
        }
        audit.record(
            action="identity.card_authenticated",
            actor=sociallogin.user if sociallogin.is_existing else None,
            object_type="socialaccount",
            object_id=f"{PROVIDER_ID}:{sociallogin.account.uid}",
            request=request,
            details={"provider": PROVIDER_ID, "existing_account": sociallogin.is_existing},
        )

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        audit.record(
            action="identity.card_login_failed",
            object_type="socialaccount",
            object_id=getattr(provider, "id", ""),
            request=request,
            details={"error": str(error or ""), "exception": type(exception).__name__},
        )
        super().on_authentication_error(
            request, provider, error=error, exception=exception, extra_context=extra_context
        )

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form=form)
        user.groups.add(Group.objects.get(name=RESIDENT))
        return user
