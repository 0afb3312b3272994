"""allauth integration: new sign-ups become residents."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from .network import client_ip
from .roles import RESIDENT


class AccountAdapter(DefaultAccountAdapter):
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
