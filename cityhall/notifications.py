"""Telling people what happened: a portal inbox message, and the same text by e-mail."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification


def notify(*, user, subject: str, body: str, link: str = "") -> Notification:
    """Put a message in the user's inbox and e-mail it once the transaction commits."""
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
        send_mail(
            subject=f"[{settings.CITY_NAME}] {notification.subject}",
            message=notification.body + link,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.user.email],
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
        return True
