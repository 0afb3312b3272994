"""Online payment use cases: start a payment at a provider, take its webhooks, ask it."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import services
from .models import Channel, Installment, Payment, WebhookEvent
from .providers import ProviderEvent, registry


def start_online_payment(
    *,
    payer,
    installment_ids: Sequence[int],
    return_url: str,
    provider_name: str | None = None,
    channel: str = Channel.CARD,
    idempotency_key: str | None = None,
) -> tuple[Payment, str]:
    """A payment for the outstanding principal of the payer's chosen installments, and the
    provider URL to send the payer to. The payment is pending until the provider confirms."""
    provider = registry.get(provider_name) if provider_name else registry.default()
    installments = list(
        Installment.objects.filter(pk__in=installment_ids, charge__payer=payer).order_by(
            "due_on", "id"
        )
    )
    open_ones = [item for item in installments if item.outstanding > 0]
    if not open_ones or len(installments) != len(set(installment_ids)):
        raise ValidationError(
            "支払う期別を選んでください（未納のものに限ります）。 / Choose installments that are "
            "still outstanding."
        )
    amount = sum(item.outstanding for item in open_ones)
    payment = services.create_payment(
        payer=payer,
        channel=channel,
        amount=amount,
        idempotency_key=idempotency_key,
        targets=[item.pk for item in open_ones],
        provider=provider.name,
    )
    url = provider.start(payment, return_url=return_url)
    external_ref = getattr(provider, "external_ref_for", lambda _p: None)(payment)
    services.mark_pending(payment_id=payment.pk, external_ref=external_ref)
    payment.refresh_from_db()
    return payment, url


def _apply_event(event: ProviderEvent, provider_name: str) -> Payment | None:
    payment = (
        Payment.objects.filter(provider=provider_name, external_ref=event.external_ref)
        .order_by("id")
        .first()
    )
    if payment is None:
        return None
    if event.kind == "payment.succeeded":
        if event.amount != payment.amount:
            services.record_event(
                "payment.amount_mismatch",
                payment=payment,
                amount=event.amount,
                reason="通知の金額が支払額と異なる / notified amount differs",
            )
            return services.fail_payment(payment_id=payment.pk, reason="amount mismatch")
        return services.confirm_payment(
            payment_id=payment.pk, paid_on=timezone.localdate(), reason=event.event_id
        )
    if event.kind == "payment.failed":
        return services.fail_payment(payment_id=payment.pk, reason=event.event_id)
    return payment


def receive_webhook(*, provider_name: str, body: bytes, headers) -> tuple[bool, Payment | None]:
    """Verify and apply a notification; ``(applied, payment)``. Raises
    :class:`payments.webhooks.InvalidSignature` for a bad signature or an old timestamp. A
    notification already processed (same event id) changes nothing and returns ``False``."""
    provider = registry.get(provider_name)
    event = provider.parse_webhook(body, headers)
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    provider=provider_name,
                    event_id=event.event_id,
                    kind=event.kind,
                    payload=event.payload,
                )
        except IntegrityError:
            return False, None
        return True, _apply_event(event, provider_name)


def sync_with_provider(payment: Payment) -> Payment:
    """Ask the provider about a payment still pending (e.g. when the payer comes back before the
    webhook, or from the nightly job), and apply the answer."""
    if payment.state not in (Payment.State.CREATED, Payment.State.PENDING) or not payment.provider:
        return payment
    status = registry.get(payment.provider).fetch_status(payment)
    if status.state == "succeeded" and status.amount == payment.amount:
        return services.confirm_payment(payment_id=payment.pk, reason="provider status")
    if status.state == "declined":
        return services.fail_payment(payment_id=payment.pk, reason="provider status")
    return payment
