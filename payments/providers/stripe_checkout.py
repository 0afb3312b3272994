"""Card payments through a hosted checkout at Stripe (Stripe Checkout, in yen).

The flow (Stripe's documented one for hosted pages):

1. :meth:`StripeCheckout.start` creates a Checkout Session for the payment's amount
   (``POST /v1/checkout/sessions``, ``mode=payment``, one line item in JPY, our payment id as
   ``client_reference_id``, an idempotency key per payment) and sends the payer to its ``url``.
   The card is typed on the provider's page only; a declined card is retried there.
2. The provider notifies us by a signed webhook (``Stripe-Signature: t=…,v1=…``, HMAC-SHA256
   over ``t.body``, as :mod:`payments.webhooks` does): ``checkout.session.completed`` and
   ``checkout.session.async_payment_succeeded`` mean paid, ``checkout.session.expired`` and
   ``checkout.session.async_payment_failed`` mean not.
3. The notification alone settles nothing: we retrieve the session with its payment intent and
   charge expanded (``GET /v1/checkout/sessions/{id}?expand[]=payment_intent.latest_charge``) and
   confirm only a session whose ``payment_status`` is ``paid``, with the amount it captured and
   the charge's creation time (the capture, for automatic capture) as the payment date.
4. Refunds: ``POST /v1/refunds`` on the session's payment intent.

JPY is a zero-decimal currency at Stripe: amounts are whole yen, as ours are.

Configuration (README): ``MACHIBA_STRIPE_SECRET_KEY``, ``MACHIBA_STRIPE_WEBHOOK_SECRETS`` (several
during rotation), ``MACHIBA_STRIPE_API_BASE`` and ``MACHIBA_STRIPE_CHECKOUT_ORIGIN`` (the tests
point them at a local stub of the API).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import webhooks
from ..models import Channel, Payment
from . import (
    FAILED,
    IGNORED,
    SUCCEEDED,
    Checkout,
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    ProviderStatus,
    registry,
)

SIGNATURE_HEADER = "Stripe-Signature"
# A session the payer leaves unfinished expires: the pending payment then fails (the nightly
# sync or the expiry webhook), and the installments are free to be paid another way.
SESSION_MINUTES = 60

PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
FAILED_EVENTS = {"checkout.session.expired", "checkout.session.async_payment_failed"}


def _absolute(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return settings.SITE_URL.rstrip("/") + path


@registry.register
class StripeCheckout(PaymentProvider):
    name = "stripe"
    label = _("クレジットカード")
    channels = (Channel.CARD,)

    def configured(self) -> bool:
        return bool(
            settings.PAYMENTS_STRIPE_SECRET_KEY and settings.PAYMENTS_STRIPE_WEBHOOK_SECRETS
        )

    def checkout_origin(self) -> str | None:
        return settings.PAYMENTS_STRIPE_CHECKOUT_ORIGIN

    def _client(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            settings.PAYMENTS_STRIPE_SECRET_KEY,
            base_addresses={"api": settings.PAYMENTS_STRIPE_API_BASE},
            max_network_retries=2,
        )

    def start(self, payment: Payment, *, return_url: str, cancel_url: str) -> Checkout:
        expires = int(timezone.now().timestamp()) + SESSION_MINUTES * 60
        try:
            session = self._client().v1.checkout.sessions.create(
                params={
                    "mode": "payment",
                    "payment_method_types": ["card"],
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": "jpy",
                                "unit_amount": payment.amount,
                                "product_data": {
                                    "name": f"{settings.CITY_NAME} 税・料金 #{payment.pk}"
                                },
                            },
                        }
                    ],
                    "client_reference_id": str(payment.pk),
                    "metadata": {"machiba_payment": str(payment.pk)},
                    "success_url": _absolute(return_url),
                    "cancel_url": _absolute(cancel_url),
                    "expires_at": expires,
                    "locale": "ja",
                },
                options={"idempotency_key": f"machiba-checkout-{payment.pk}"},
            )
        except stripe.StripeError as error:
            raise ProviderError(str(error)) from error
        return Checkout(url=session.url, external_ref=session.id)

    def fetch_status(self, payment: Payment) -> ProviderStatus:
        try:
            session = self._client().v1.checkout.sessions.retrieve(
                payment.external_ref, params={"expand": ["payment_intent.latest_charge"]}
            )
        except stripe.StripeError as error:
            raise ProviderError(str(error)) from error
        amount = int(session.amount_total or 0)
        if session.payment_status == "paid":
            intent = session.payment_intent
            charge = getattr(intent, "latest_charge", None) if intent else None
            captured = int(getattr(charge, "amount_captured", 0) or 0) if charge else 0
            captured_at = (
                datetime.fromtimestamp(int(charge.created), tz=UTC) if charge is not None else None
            )
            return ProviderStatus(
                state="succeeded", amount=captured or amount, captured_at=captured_at
            )
        if session.status == "expired":
            return ProviderStatus(state="expired", amount=amount)
        return ProviderStatus(state="open", amount=amount)

    def parse_webhook(self, body: bytes, headers) -> ProviderEvent:
        header = headers.get(SIGNATURE_HEADER)
        for secret in settings.PAYMENTS_STRIPE_WEBHOOK_SECRETS:
            try:
                stripe.WebhookSignature.verify_header(
                    body, header, secret, tolerance=webhooks.TOLERANCE_SECONDS
                )
                break
            except stripe.SignatureVerificationError:
                continue
        else:
            raise webhooks.InvalidSignature("no signature matches a configured secret")
        try:
            event = json.loads(body)
            session = event["data"]["object"]
            kind = IGNORED
            if event["type"] in PAID_EVENTS and session.get("payment_status") == "paid":
                kind = SUCCEEDED
            elif event["type"] in FAILED_EVENTS:
                kind = FAILED
            return ProviderEvent(
                event_id=str(event["id"]), kind=kind, external_ref=str(session["id"]), payload=event
            )
        except (ValueError, KeyError, TypeError) as error:
            raise webhooks.MalformedNotification(f"malformed notification: {error}") from None

    def refund(self, payment: Payment, amount: int) -> None:
        try:
            client = self._client()
            session = client.v1.checkout.sessions.retrieve(payment.external_ref)
            intent = session.payment_intent
            client.v1.refunds.create(
                params={
                    "payment_intent": intent if isinstance(intent, str) else intent.id,
                    "amount": amount,
                },
                options={"idempotency_key": f"machiba-refund-{payment.pk}-{amount}"},
            )
        except stripe.StripeError as error:
            raise ProviderError(str(error)) from error
