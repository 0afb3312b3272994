"""The staff door: /staff/ and the staff side of /api/ are for clerks, supervisors and admins who
have set up MFA and who work from the office networks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .network import client_ip, staff_network_allowed
from .roles import is_staff_member

STAFF_PREFIX = "/staff/"
API_PREFIX = "/api/"
# What a staff member without MFA may still call: who am I, and the API description.
API_OPEN_TO_STAFF_WITHOUT_MFA = ("/api/me/", "/api/schema/", "/api/docs/")


def user_has_mfa(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user_id=user.pk, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def _api_user(request, view_func):
    """Who calls the API: the session's user, else whoever the view's own DRF authenticators
    (a token, a signed header: anything but the session) say it is. Run before the view, so a
    staff credential from outside the office networks is refused before it does anything."""
    if request.user.is_authenticated:
        return request.user
    view_class = getattr(view_func, "cls", None)
    if view_class is None:
        return None
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.exceptions import APIException
    from rest_framework.request import Request

    drf_request = Request(request)
    for authenticator_class in view_class.authentication_classes:
        if issubclass(authenticator_class, SessionAuthentication):
            continue
        try:
            found = authenticator_class().authenticate(drf_request)
        except APIException:
            # A bad credential: the view itself answers 401/403.
            return None
        if found is not None:
            return found[0]
    return None


class StaffDoorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(STAFF_PREFIX):
            if not staff_network_allowed(client_ip(request)):
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

    def process_view(self, request, view_func, view_args, view_kwargs):
        # The network rule holds on the API door too, for sessions and any other credential.
        if not request.path.startswith(API_PREFIX) or staff_network_allowed(client_ip(request)):
            return None
        user = _api_user(request, view_func)
        if user is not None and is_staff_member(user):
            return JsonResponse(
                {"detail": _("この端末からは職員として API を利用できません。")}, status=403
            )
        return None
