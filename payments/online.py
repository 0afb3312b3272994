"""Online payment use cases: start a payment at a provider, take its webhooks, ask it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from . import services
from .models import Channel, Installment, Payment, WebhookEvent
from .providers import (
    FAILED,
    SUCCEEDED,
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    ProviderStatus,
    registry,
)

logger = logging.getLogger(__name__)


def card_payment_offered() -> bool:
    """Whether any online provider is offered (none: the pages say how else to pay)."""
    return registry.default() is not None


def checkout_origin() -> str | None:
    """Where the default provider's checkout lives, when not on this site (for the CSP)."""
    provider = registry.default()
    return provider.checkout_origin() if provider is not None else None


def provider_label() -> str:
    provider = registry.default()
    return str(provider.label) if provider is not None else ""


def _return_urls(payment: Payment, next_url: str) -> tuple[str, str]:
    base = reverse("payments:payment_return")
    query = {"next": next_url, "payment": payment.pk}
    return (
        f"{base}?{urlencode(query)}",
        f"{base}?{urlencode({**query, 'cancelled': 1})}",
    )


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
    provider URL to send the payer to. The payment is pending until the provider confirms.
    ``return_url`` is where the payer lands afterwards (a path on this site)."""
    provider = registry.get(provider_name) if provider_name else registry.default()
    if provider is None:
        raise ValidationError(_("オンラインでのお支払いは現在ご利用いただけません。"))
    installments = list(
        Installment.objects.filter(pk__in=installment_ids, charge__payer=payer).order_by(
            "due_on", "id"
        )
    )
    open_ones = [item for item in installments if item.outstanding > 0]
    if not open_ones or len(installments) != len(set(installment_ids)):
        raise ValidationError(_("支払う期別を選んでください（未納のものに限ります）。"))
    amount = sum(item.outstanding for item in open_ones)
    payment = services.create_payment(
        payer=payer,
        channel=channel,
        amount=amount,
        idempotency_key=idempotency_key,
        targets=[item.pk for item in open_ones],
        provider=provider.name,
    )
    success_url, cancel_url = _return_urls(payment, return_url)
    try:
        checkout = provider.start(payment, return_url=success_url, cancel_url=cancel_url)
    except ProviderError as error:
        logger.warning("provider %s refused to start payment %s: %s", provider.name, payment, error)
        services.fail_payment(
            payment_id=payment.pk, reason=gettext_noop("決済事業者に接続できませんでした")
        )
        raise ValidationError(
            _("決済サービスに接続できませんでした。しばらくしてからもう一度お試しください。")
        ) from error
    services.mark_pending(payment_id=payment.pk, external_ref=checkout.external_ref)
    payment.refresh_from_db()
    return payment, checkout.url


def _apply_status(
    payment: Payment, status: ProviderStatus, *, provider: PaymentProvider, reason: str
) -> Payment:
    """Confirm, fail or hold a payment as the provider's answer says."""
    if status.state == "succeeded":
        captured_on = timezone.localdate(status.captured_at) if status.captured_at else None
        if status.amount != payment.amount:
            # Money was captured, but not what we asked: keep it visible for a supervisor
            # (needs review), never a silent failure that hides money the city holds.
            return services.hold_for_review(
                payment_id=payment.pk,
                captured_amount=status.amount,
                captured_on=captured_on,
                reason=reason,
            )
        return services.confirm_payment(payment_id=payment.pk, paid_on=captured_on, reason=reason)
    if status.state in ("declined", "expired"):
        return services.fail_payment(payment_id=payment.pk, reason=reason)
    return payment


def _apply_event(event: ProviderEvent, provider: PaymentProvider) -> Payment | None:
    payment = (
        Payment.objects.filter(provider=provider.name, external_ref=event.external_ref)
        .order_by("id")
        .first()
    )
    if payment is None:
        return None
    if event.kind == SUCCEEDED:
        if event.amount is not None:
            status = ProviderStatus(
                state="succeeded", amount=event.amount, captured_at=event.captured_at
            )
        else:
            # The notification only names the checkout: what was captured, and when, we ask.
            status = provider.fetch_status(payment)
        return _apply_status(payment, status, provider=provider, reason=event.event_id)
    if event.kind == FAILED:
        return services.fail_payment(payment_id=payment.pk, reason=event.event_id)
    return payment


def receive_webhook(*, provider_name: str, body: bytes, headers) -> tuple[bool, Payment | None]:
    """Verify and apply a notification; ``(applied, payment)``. Raises
    :class:`payments.webhooks.InvalidSignature` for a bad signature or an old timestamp, and
    :class:`LookupError` for a provider that is not offered. A notification already processed
    (same event id) changes nothing and returns ``False``."""
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
        return True, _apply_event(event, provider)


def sync_with_provider(payment: Payment) -> Payment:
    """Ask the provider about a payment still pending (e.g. when the payer comes back before the
    webhook, or from the periodic job), and apply the answer. A payment of a provider that is
    no longer offered is left as it is."""
    if payment.state not in (Payment.State.CREATED, Payment.State.PENDING) or not payment.provider:
        return payment
    if payment.provider not in registry.names():
        return payment
    provider = registry.get(payment.provider)
    try:
        status = provider.fetch_status(payment)
    except ProviderError as error:
        logger.warning("could not ask %s about payment %s: %s", provider.name, payment.pk, error)
        return payment
    return _apply_status(
        payment, status, provider=provider, reason=gettext_noop("決済事業者への照会")
    )
