"""Demo accounts: one of each role. Staff accounts come with MFA already set up."""

from __future__ import annotations

import base64
import hashlib

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group

from .models import User
from .roles import ADMIN, CLERK, RESIDENT, SUPERVISOR
from .seeding import SeedContext, step

DEMO_PASSWORD = "machiba-demo-2026"
DEMO_ACCOUNTS = [
    ("resident@demo.machiba.jp", "デモ 住民", RESIDENT),
    ("resident2@demo.machiba.jp", "デモ 住民2", RESIDENT),
    ("clerk@demo.machiba.jp", "デモ 窓口職員", CLERK),
    ("supervisor@demo.machiba.jp", "デモ 係長", SUPERVISOR),
    ("admin@demo.machiba.jp", "デモ 管理者", ADMIN),
]


def demo_totp_secret(email: str) -> str:
    """A fixed TOTP secret per demo account, so the demo's authenticator entry survives reseeding."""
    digest = hashlib.sha256(f"machiba-demo-totp:{email}".encode()).digest()[:20]
    return base64.b32encode(digest).decode("ascii")


def ensure_account(email: str, name: str, role: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, display_name=name)
    if role == ADMIN and not user.is_staff:
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.add(Group.objects.get(name=role))
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    if (
        role != RESIDENT
        and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    ):
        TOTP.activate(user, demo_totp_secret(email))
        RecoveryCodes.activate(user)
    return user


@step(order=10)
def demo_accounts(ctx: SeedContext) -> None:
    for email, name, role in DEMO_ACCOUNTS:
        user = ensure_account(email, name, role)
        if role == RESIDENT:
            note = ""
        else:
            codes = RecoveryCodes(
                Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
            ).get_unused_codes()
            note = f"TOTP secret {demo_totp_secret(email)} / recovery code {codes[0]}"
        ctx.logins.append((role, email, note))
