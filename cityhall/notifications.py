"""Telling people what happened: a portal inbox message, and the same text by e-mail."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from .models import Notification

Text = str | Callable[[], str]


def language_of(user) -> str:
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def notify(*, user, subject: Text, body: Text, link: str = "") -> Notification:
    """Put a message in the user's inbox and e-mail it once the transaction commits.

    The subject and body are written in the language the user reads the portal in: pass
    gettext_lazy strings, or functions that build the text, and they are rendered in it.
    """
    with translation.override(language_of(user)):
        subject = str(subject() if callable(subject) else subject)
        body = str(body() if callable(body) else body)
    notification = Notification.objects.create(user=user, subject=subject, body=body, link=link)

    def _send() -> None:
        from .tasks import deliver_notification

        deliver_notification.delay(notification.pk)

    transaction.on_commit(_send)
    return notification


def deliver(notification_id: int) -> bool:
    """Send the e-mail for one notification; sending twice is prevented by the row lock."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update().select_related("user").get(pk=notification_id)
        )
        if notification.emailed_at is not None:
            return False
        link = f"\n\n{settings.SITE_URL}{notification.link}" if notification.link else ""
        english = language_of(notification.user) == "en"
        city = settings.CITY_NAME_EN if english else settings.CITY_NAME
        send_mail(
            subject=f"[{city}] {notification.subject}",
            message=notification.body + link,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.user.email],
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
        return True
