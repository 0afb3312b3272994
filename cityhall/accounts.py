"""allauth integration: new sign-ups become residents; the lockout message says how long to
wait; e-mails carry the city's name and address (the Sites row follows MACHIBA_SITE_URL)."""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils.functional import lazy
from django.utils.translation import gettext

from .network import client_ip
from .roles import RESIDENT

_DURATION = re.compile(r"^(\d*)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def lockout_minutes(rates: str | None = None) -> int:
    """How long a locked-out address waits, in minutes: the longest window of the login_failed
    rate limit (allauth's "N/period/key" notation, e.g. "10/m/ip,5/5m/key" -> 5)."""
    rates = rates if rates is not None else settings.ACCOUNT_RATE_LIMITS.get("login_failed", "")
    longest = 0
    for rate in filter(None, (part.strip() for part in (rates or "").split(","))):
        parts = rate.split("/")
        match = _DURATION.match(parts[1]) if len(parts) >= 2 else None
        if match:
            longest = max(longest, int(match.group(1) or 1) * _SECONDS[match.group(2)])
    return max(1, math.ceil(longest / 60))


def _lockout_message() -> str:
    return gettext(
        "ログインの失敗が続いたため、しばらくログインできません。%(minutes)s分ほど待ってから、"
        "もう一度お試しください。"
    ) % {"minutes": lockout_minutes()}


class AccountAdapter(DefaultAccountAdapter):
    error_messages = DefaultAccountAdapter.error_messages | {
        "too_many_login_attempts": lazy(_lockout_message, str)(),
    }

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user.groups.add(Group.objects.get(name=RESIDENT))
        return user

    def get_client_ip(self, request):
        # Login throttling counts per client: the same address the staff door and the audit
        # log use (REMOTE_ADDR, or behind MACHIBA_TRUSTED_PROXIES the right-most untrusted hop).
        address = client_ip(request)
        if not address:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def format_email_subject(self, subject) -> str:
        request = getattr(self, "request", None)
        english = (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en")
        city = settings.CITY_NAME_EN if english else settings.CITY_NAME
        return f"[{city}] {subject}"


def sync_site(**kwargs) -> None:
    """The Sites row allauth's e-mails print: the city's name and the host of MACHIBA_SITE_URL,
    never "example.com". Runs after every migrate, so each environment gets its own URL."""
    from django.contrib.sites.models import Site

    domain = urlsplit(settings.SITE_URL).netloc or settings.SITE_URL
    Site.objects.update_or_create(
        pk=settings.SITE_ID, defaults={"domain": domain, "name": settings.CITY_NAME}
    )
