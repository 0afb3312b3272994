"""The staff door: /staff/ and the staff side of /api/ are for clerks, supervisors and admins who
have set up MFA and who work from the office networks."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from .authcache import forget_user
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


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response that does not declare itself public.

    One rule instead of a decorator per view: pages, API answers, files and error pages alike
    carry personal data or may, so no browser or shared cache keeps them (a shared office PC, a
    proxy). A view that serves public data (public map tiles, the garbage calendar) says
    `Cache-Control: public, …` and keeps it. Static files are served before this runs
    (WhiteNoise) or are exempt.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(settings.STATIC_URL):
            return response
        directives = {
            part.strip().split("=", 1)[0].lower()
            for part in response.get("Cache-Control", "").split(",")
        }
        if "public" not in directives:
            add_never_cache_headers(response)
        return response


LAST_SEEN_SESSION_KEY = "machiba_last_seen"
# The session is written at most this often just to note activity (a database write per request
# would be the price of second precision).
_LAST_SEEN_RESOLUTION = 60


def idle_limit_seconds(user) -> int:
    """How long a signed-in person may stay idle: staff less than residents (settings)."""
    minutes = (
        settings.STAFF_IDLE_MINUTES if is_staff_member(user) else settings.RESIDENT_IDLE_MINUTES
    )
    return int(minutes) * 60


class IdleTimeoutMiddleware:
    """Ends a session that has been idle too long: 15 minutes for staff, 30 for residents by
    default (MACHIBA_STAFF_IDLE_MINUTES, MACHIBA_RESIDENT_IDLE_MINUTES). A page asks to sign in
    again (and comes back after); the API answers 401."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            limit = idle_limit_seconds(user)
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_SESSION_KEY)
            if isinstance(last_seen, int) and now - last_seen > limit:
                logout(request)
                return self._signed_out(request)
            if not isinstance(last_seen, int) or now - last_seen >= _LAST_SEEN_RESOLUTION:
                request.session[LAST_SEEN_SESSION_KEY] = now
                # The stored session dies too, so a copied cookie is no good after the limit.
                request.session.set_expiry(limit + _LAST_SEEN_RESOLUTION)
        return self.get_response(request)

    @staticmethod
    def _signed_out(request):
        message = _(
            "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
        )
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": message}, status=401)
        messages.info(request, message)
        return redirect_to_login(request.get_full_path())


class RequestSizeMiddleware:
    """413 for a request body above settings.MAX_REQUEST_BYTES, before anything reads it.

    Django's DATA_UPLOAD_MAX_MEMORY_SIZE caps form fields only once a view reads them, and not
    uploaded files; gunicorn has no body limit of its own. A body sent without a length
    (chunked) cannot be checked up front and is refused with 411.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH") or ""
        if not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return HttpResponse(_("送信データの長さが分かりません。"), status=411)
        try:
            size = int(length or 0)
        except ValueError:
            return HttpResponse(_("送信データの長さが正しくありません。"), status=400)
        if size > settings.MAX_REQUEST_BYTES:
            return HttpResponse(
                _("送信データが大きすぎます（%(mb)d MBまで）。")
                % {"mb": settings.MAX_REQUEST_BYTES // (1024 * 1024)},
                status=413,
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
            forget_user(user.pk)  # the update sends no signal
            user.language = language
        return response
