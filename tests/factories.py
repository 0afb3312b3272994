"""factory_boy factories shared by the tests."""

from __future__ import annotations

import time

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.auth.models import Group

from cityhall.models import User

PASSWORD = "correct-horse-battery-staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def current_totp(secret: str = TOTP_SECRET) -> str:
    """The code of the current 30-second period. The server accepts only its own period's code
    (no tolerance), so near a period's end a code typed into a slow browser would reach the
    server a period too late: then wait for the next period and give its code."""
    left = 30 - time.time() % 30
    if left < 4:
        time.sleep(left + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.jp")
    display_name = factory.Sequence(lambda n: f"利用者{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        self.save()
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)
