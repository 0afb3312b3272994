"""Audit rows for every way of signing in (DESIGN.md §4: the log says who came in, and how).

allauth and django.contrib.auth announce authentication steps as signals; these receivers only
write the audit log (a third-party hook, as STYLE.md allows), they change nothing else.
"""

from __future__ import annotations

from allauth.account.signals import authentication_step_completed, user_logged_in
from allauth.mfa.signals import (
    authentication_failed,
    authenticator_added,
    authenticator_removed,
)
from allauth.socialaccount.signals import social_account_added, social_account_removed
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from cityhall import audit


@receiver(authentication_step_completed, dispatch_uid="identity_audit_step")
def audit_authentication_step(sender, request, method, user, **kwargs):
    details = {"method": method}
    for key in ("type", "provider", "reauthenticated", "passwordless"):
        if key in kwargs:
            details[key] = kwargs[key]
    audit.record(
        action=f"identity.authenticated.{method}",
        actor=user,
        obj=user,
        request=request,
        details=details,
    )


@receiver(user_logged_in, dispatch_uid="identity_audit_login")
def audit_login(sender, request, user, **kwargs):
    from allauth.account.authentication import get_authentication_records

    methods = [
        record.get("type") or record.get("provider") or record.get("method")
        for record in get_authentication_records(request, user)
    ]
    audit.record(
        action="identity.logged_in",
        actor=user,
        obj=user,
        request=request,
        details={"methods": methods},
    )


@receiver(user_login_failed, dispatch_uid="identity_audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    # The address typed is kept (it names whose account was tried), never the password.
    audit.record(
        action="identity.login_failed",
        object_type="cityhall.User",
        request=request,
        details={
            "method": "password",
            "login": str(credentials.get("email") or credentials.get("username") or "")[:200],
        },
    )


@receiver(authentication_failed, dispatch_uid="identity_audit_mfa_failed")
def audit_mfa_failed(sender, request, user, authenticator=None, **kwargs):
    audit.record(
        action="identity.mfa_failed",
        actor=user,
        obj=user,
        request=request,
        details={"type": getattr(authenticator, "type", "")},
    )


@receiver(authenticator_added, dispatch_uid="identity_audit_mfa_added")
def audit_authenticator_added(sender, request, user, authenticator, **kwargs):
    audit.record(
        action="identity.authenticator_added",
        actor=user,
        obj=user,
        request=request,
        details={"type": authenticator.type, "id": authenticator.pk},
    )


@receiver(authenticator_removed, dispatch_uid="identity_audit_mfa_removed")
def audit_authenticator_removed(sender, request, user, authenticator, **kwargs):
    audit.record(
        action="identity.authenticator_removed",
        actor=user,
        obj=user,
        request=request,
        details={"type": authenticator.type, "id": authenticator.pk},
    )


@receiver(social_account_added, dispatch_uid="identity_audit_card_connected")
def audit_card_connected(sender, request, sociallogin, **kwargs):
    audit.record(
        action="identity.card_connected",
        actor=request.user,
        obj=request.user,
        request=request,
        details={"provider": sociallogin.account.provider},
    )


@receiver(social_account_removed, dispatch_uid="identity_audit_card_disconnected")
def audit_card_disconnected(sender, request, socialaccount, **kwargs):
    audit.record(
        action="identity.card_disconnected",
        actor=request.user,
        obj=request.user,
        request=request,
        details={"provider": socialaccount.provider},
    )
