"""The sandbox provider: its checkout page is /pay/sandbox/<token>/, its book is
``SandboxIntent``, and it signs its webhooks with the first of the payments webhook secrets."""

from __future__ import annotations

import json
import secrets
import time
from urllib.request import Request, urlopen

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from payments import online, webhooks
from payments.models import Channel, Payment
from payments.providers import (
    FAILED,
    IGNORED,
    SUCCEEDED,
    Checkout,
    PaymentProvider,
    ProviderEvent,
    ProviderStatus,
    registry,
)

from .models import SandboxIntent

# The secret settings give the sandbox in development (never in production).
DEV_WEBHOOK_SECRET = "dev-only-payments-webhook-secret"

# Test cards of the sandbox checkout.
SUCCESS_CARD = "4242424242424242"
DECLINE_CARD = "4000000000000002"


def webhook_secrets() -> list[str]:
    """Secrets accepted on the sandbox's webhooks; the first one signs. Several during
    rotation: put the new one first, keep the old one until every sender has switched."""
    return list(getattr(settings, "PAYMENTS_WEBHOOK_SECRETS", []) or [])


@registry.register
class SandboxProvider(PaymentProvider):
    name = "sandbox"
    label = _("サンドボックス決済（テスト用）")
    channels = (Channel.CARD, Channel.SMARTPHONE)

    def configured(self) -> bool:
        return bool(webhook_secrets())

    def start(self, payment: Payment, *, return_url: str, cancel_url: str) -> Checkout:
        intent, _created = SandboxIntent.objects.get_or_create(
            reference=str(payment.pk),
            defaults={
                "token": secrets.token_urlsafe(18),
                "amount": payment.amount,
                "return_url": return_url,
                "cancel_url": cancel_url,
            },
        )
        return Checkout(
            url=reverse("payments_sandbox:checkout", args=[intent.token]),
            external_ref=intent.token,
        )

    def fetch_status(self, payment: Payment) -> ProviderStatus:
        intent = SandboxIntent.objects.filter(reference=str(payment.pk)).first()
        if intent is None:
            return ProviderStatus(state="open", amount=payment.amount)
        return ProviderStatus(
            state=intent.state, amount=intent.amount, captured_at=intent.captured_at
        )

    def parse_webhook(self, body: bytes, headers) -> ProviderEvent:
        webhooks.verify(body, headers.get(webhooks.SIGNATURE_HEADER), webhook_secrets())
        try:
            data = json.loads(body)
            kind = {"payment.succeeded": SUCCEEDED, "payment.failed": FAILED}.get(
                str(data["type"]), IGNORED
            )
            captured = data["data"].get("captured_at")
            return ProviderEvent(
                event_id=str(data["id"]),
                kind=kind,
                external_ref=str(data["data"]["intent"]),
                amount=int(data["data"]["amount"]),
                captured_at=timezone.datetime.fromisoformat(captured) if captured else None,
                payload=data,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise webhooks.MalformedNotification(f"malformed notification: {error}") from None

    def refund(self, payment: Payment, amount: int) -> None:
        with transaction.atomic():
            intent = SandboxIntent.objects.select_for_update().get(reference=str(payment.pk))
            intent.refunded_amount += amount
            intent.state = SandboxIntent.State.REFUNDED
            intent.save(update_fields=["refunded_amount", "state"])

    # The sandbox's own side: the checkout page calls this when the payer submits a card.
    def pay(self, token: str, card_number: str) -> tuple[SandboxIntent, bool]:
        """``(intent, accepted)``: the success card captures the amount and notifies us; any
        other card is declined and the checkout stays open for another try."""
        with transaction.atomic():
            intent = SandboxIntent.objects.select_for_update().get(token=token)
            if intent.state != SandboxIntent.State.OPEN:
                return intent, intent.state == SandboxIntent.State.SUCCEEDED
            if card_number.replace(" ", "") != SUCCESS_CARD:
                intent.declines += 1
                intent.save(update_fields=["declines"])
                return intent, False
            intent.state = SandboxIntent.State.SUCCEEDED
            intent.captured_at = timezone.now()
            intent.save(update_fields=["state", "captured_at"])
        self.send_webhook(intent)
        return intent, True

    def event_body(self, intent: SandboxIntent) -> bytes:
        return json.dumps(
            {
                "id": f"evt_{intent.token}_{intent.state}",
                "type": "payment.succeeded"
                if intent.state == SandboxIntent.State.SUCCEEDED
                else "payment.failed",
                "created": int(time.time()),
                "data": {
                    "intent": intent.token,
                    "amount": intent.amount,
                    "captured_at": intent.captured_at.isoformat() if intent.captured_at else None,
                },
            },
            separators=(",", ":"),
        ).encode()

    def send_webhook(self, intent: SandboxIntent) -> None:
        """Deliver the signed notification server-side: by HTTP when
        ``settings.PAYMENTS_SANDBOX_WEBHOOK_URL`` is set, otherwise straight into payments'
        public receiving service (the same verification as an HTTP delivery)."""
        body = self.event_body(intent)
        headers = {webhooks.SIGNATURE_HEADER: webhooks.signature_header(webhook_secrets()[0], body)}
        url = getattr(settings, "PAYMENTS_SANDBOX_WEBHOOK_URL", "")
        if url:
            request = Request(
                url, data=body, headers={**headers, "Content-Type": "application/json"}
            )
            with urlopen(request, timeout=10):  # noqa: S310 - configured URL of our own endpoint
                return
        online.receive_webhook(provider_name=self.name, body=body, headers=headers)
