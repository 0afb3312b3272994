"""The staff door: /staff/ is for clerks, supervisors and admins who have set up MFA."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .roles import is_staff_member

STAFF_PREFIX = "/staff/"
API_PREFIX = "/api/"
# What a staff member without MFA may still call: who am I, and the API description.
API_OPEN_TO_STAFF_WITHOUT_MFA = ("/api/me/", "/api/schema/", "/api/docs/")


def staff_network_allowed(remote_addr: str | None) -> bool:
    networks = settings.STAFF_ALLOWED_NETWORKS
    if not networks:
        return True
    if not remote_addr:
        return False
    address = ipaddress.ip_address(remote_addr)
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


def user_has_mfa(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user_id=user.pk, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


class StaffDoorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(STAFF_PREFIX):
            if not staff_network_allowed(request.META.get("REMOTE_ADDR")):
                raise PermissionDenied(_("この端末からは職員用ページを開けません。"))
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not is_staff_member(user):
                raise PermissionDenied(_("職員用ページは職員だけが利用できます。"))
            if not user_has_mfa(user):
                messages.warning(
                    request,
                    _("職員用ページを使う前に、二要素認証（認証アプリ）を設定してください。"),
                )
                return redirect("mfa_activate_totp")
        elif (
            request.path.startswith(API_PREFIX)
            and not request.path.startswith(API_OPEN_TO_STAFF_WITHOUT_MFA)
            and request.user.is_authenticated
            and is_staff_member(request.user)
            and not user_has_mfa(request.user)
        ):
            # The API is a second door to the same back office: staff roles need MFA here too.
            return JsonResponse(
                {"detail": _("職員は二要素認証を設定するまで API を利用できません。")},
                status=403,
            )
        return self.get_response(request)


class RememberLanguageMiddleware:
    """Keeps the language a signed-in person reads the portal in on their account, so that
    notifications and e-mails, sent later and from workers, go out in that language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        language = (getattr(request, "LANGUAGE_CODE", "") or "")[:2]
        known = {code for code, _name in settings.LANGUAGES}
        if (
            user is not None
            and user.is_authenticated
            and language in known
            and getattr(user, "language", language) != language
        ):
            get_user_model().objects.filter(pk=user.pk).update(language=language)
            user.language = language
        return response
