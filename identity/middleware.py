"""Security keys for the people who can reveal My Number (the IC-card rule of the council).

With settings.REQUIRE_SECURITY_KEY_FOR_MYNUMBER on (the production default), anyone who may
reveal My Numbers (permission residents.reveal_mynumber: supervisors) must have registered a
security key or passkey (WebAuthn) and must have used it in this session before any /staff/
page or staff API call opens; a password and an authenticator-app code are not enough.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from cityhall.middleware import API_OPEN_TO_STAFF_WITHOUT_MFA, API_PREFIX, STAFF_PREFIX

MYNUMBER_PERMISSION = "residents.reveal_mynumber"


def needs_security_key(user) -> bool:
    return (
        settings.REQUIRE_SECURITY_KEY_FOR_MYNUMBER
        and user.is_authenticated
        and user.has_perm(MYNUMBER_PERMISSION)
    )


def has_security_key(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.WEBAUTHN).exists()


def used_security_key(request) -> bool:
    from allauth.account.authentication import get_authentication_records

    return any(
        record.get("method") == "mfa" and record.get("type") == "webauthn"
        for record in get_authentication_records(request, request.user)
    )


class SecurityKeyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        staff = path.startswith(STAFF_PREFIX)
        api = path.startswith(API_PREFIX) and not path.startswith(API_OPEN_TO_STAFF_WITHOUT_MFA)
        if (staff or api) and needs_security_key(request.user):
            if not has_security_key(request.user):
                message = _(
                    "個人番号を表示できる職員は、セキュリティキー（パスキー）の登録が必要です。"
                )
                if api:
                    return JsonResponse({"detail": message}, status=403)
                messages.warning(request, message)
                return redirect("mfa_add_webauthn")
            if not used_security_key(request):
                message = _("セキュリティキーで本人確認をしてから職員用ページを開いてください。")
                if api:
                    return JsonResponse({"detail": message}, status=403)
                messages.info(request, message)
                target = reverse("mfa_reauthenticate_webauthn")
                return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class PlatformFormActionMiddleware:
    """Let our forms lead to the マイナンバーカード platform.

    The CSP's form-action 'self' also covers where a form's redirect goes (Chromium enforces
    it), and the card buttons post to our own views, which redirect to the platform's
    authorization endpoint. So the platform's origin, and nothing else, is added to form-action.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from urllib.parse import urlsplit

        from . import platform

        response = self.get_response(request)
        issuer = platform.config().issuer
        if issuer:
            parts = urlsplit(issuer)
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [
                *update.get("form-action", []),
                f"{parts.scheme}://{parts.netloc}",
            ]
            response._csp_update = update
        return response
