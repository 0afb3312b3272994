"""Online payment providers (card, smartphone QR) behind one interface, in a small registry.

A provider is registered once (``registry.register``) and chosen by name; real providers plug in
by subclassing :class:`PaymentProvider` in their own module and naming it in
``settings.PAYMENTS_PROVIDER_MODULES`` (imported at start-up). The sandbox provider ships here so
the whole flow — intent, redirect, checkout, signed webhook, capture — runs on a laptop.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import import_module
from typing import ClassVar

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from . import webhooks
from .models import Channel, Payment, SandboxIntent

logger = logging.getLogger(__name__)

DEV_WEBHOOK_SECRET = "dev-only-payments-webhook-secret"


def webhook_secrets() -> list[str]:
    """Secrets accepted on incoming webhooks; the first one signs (sandbox). Several during
    rotation: put the new one first, keep the old one until the provider has switched."""
    configured = list(getattr(settings, "PAYMENTS_WEBHOOK_SECRETS", []) or [])
    if configured:
        return configured
    return [DEV_WEBHOOK_SECRET] if settings.DEBUG or _testing() else []


def _testing() -> bool:
    return os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith("settings_test")


@dataclass(frozen=True)
class ProviderEvent:
    """A verified notification, in our words."""

    event_id: str
    kind: str  # "payment.succeeded" | "payment.failed" | "payment.refunded"
    external_ref: str
    amount: int
    payload: dict


@dataclass(frozen=True)
class ProviderStatus:
    state: str  # "open" | "succeeded" | "declined" | "refunded"
    amount: int


class PaymentProvider(ABC):
    """The contract of an online payment provider.

    Money moves only in :meth:`refund` (which pays money back) and at the provider's checkout,
    which the payer completes on the provider's page; nothing here captures money by itself.
    The browser's return from the checkout proves nothing: our side learns the outcome from a
    verified webhook (:meth:`parse_webhook`) or by asking (:meth:`fetch_status`).

    - :meth:`start` — creates the provider's payment intent for ``payment`` and returns the URL to
      send the payer to. Does not move money. May be called again for the same payment (retry):
      it must return the same intent (idempotent on ``payment.pk``).
    - :meth:`fetch_status` — asks the provider what happened to ``payment``. Read-only.
    - :meth:`parse_webhook` — verifies the signature and timestamp of a raw notification and
      returns it as a :class:`ProviderEvent`; raises :class:`webhooks.InvalidSignature`.
      Read-only.
    - :meth:`refund` — **moves money**: pays ``amount`` yen of a confirmed payment back.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    channels: ClassVar[tuple[str, ...]] = (Channel.CARD,)

    @abstractmethod
    def start(self, payment: Payment, *, return_url: str) -> str:
        raise NotImplementedError

    @abstractmethod
    def fetch_status(self, payment: Payment) -> ProviderStatus:
        raise NotImplementedError

    @abstractmethod
    def parse_webhook(self, body: bytes, headers) -> ProviderEvent:
        raise NotImplementedError

    @abstractmethod
    def refund(self, payment: Payment, amount: int) -> None:
        raise NotImplementedError


class ProviderRegistry:
    def __init__(self) -> None:
        self._providers: dict[str, PaymentProvider] = {}

    def register(self, provider_class: type[PaymentProvider]) -> type[PaymentProvider]:
        self._providers[provider_class.name] = provider_class()
        return provider_class

    def get(self, name: str) -> PaymentProvider:
        try:
            return self._providers[name]
        except KeyError:
            raise LookupError(f"no payment provider named {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._providers)

    def default(self) -> PaymentProvider:
        return self.get(getattr(settings, "PAYMENTS_DEFAULT_PROVIDER", "sandbox"))


registry = ProviderRegistry()

# Test cards of the sandbox checkout.
SANDBOX_SUCCESS_CARD = "4242424242424242"
SANDBOX_DECLINE_CARD = "4000000000000002"


@registry.register
class SandboxProvider(PaymentProvider):
    """A provider that runs inside Machiba: its checkout page is /pay/sandbox/<token>/, its book
    is ``SandboxIntent``, and it signs its webhooks with the first webhook secret."""

    name = "sandbox"
    label = "サンドボックス決済（テスト用）"
    channels = (Channel.CARD, Channel.SMARTPHONE)

    def start(self, payment: Payment, *, return_url: str) -> str:
        intent, _created = SandboxIntent.objects.get_or_create(
            reference=str(payment.pk),
            defaults={
                "token": secrets.token_urlsafe(18),
                "amount": payment.amount,
                "return_url": return_url,
            },
        )
        return reverse("payments:sandbox_checkout", args=[intent.token])

    def external_ref_for(self, payment: Payment) -> str:
        return SandboxIntent.objects.get(reference=str(payment.pk)).token

    def fetch_status(self, payment: Payment) -> ProviderStatus:
        intent = SandboxIntent.objects.filter(reference=str(payment.pk)).first()
        if intent is None:
            return ProviderStatus(state="open", amount=payment.amount)
        return ProviderStatus(state=intent.state, amount=intent.amount)

    def parse_webhook(self, body: bytes, headers) -> ProviderEvent:
        webhooks.verify(body, headers.get(webhooks.SIGNATURE_HEADER), webhook_secrets())
        try:
            data = json.loads(body)
            return ProviderEvent(
                event_id=str(data["id"]),
                kind=str(data["type"]),
                external_ref=str(data["data"]["intent"]),
                amount=int(data["data"]["amount"]),
                payload=data,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise webhooks.InvalidSignature(f"malformed notification: {error}") from None

    def refund(self, payment: Payment, amount: int) -> None:
        with transaction.atomic():
            intent = SandboxIntent.objects.select_for_update().get(reference=str(payment.pk))
            intent.refunded_amount += amount
            intent.state = SandboxIntent.State.REFUNDED
            intent.save(update_fields=["refunded_amount", "state"])

    # The sandbox's own side: the checkout page calls this when the payer submits a card.
    def pay(self, token: str, card_number: str) -> SandboxIntent:
        with transaction.atomic():
            intent = SandboxIntent.objects.select_for_update().get(token=token)
            if intent.state == SandboxIntent.State.OPEN:
                succeeded = card_number.replace(" ", "") == SANDBOX_SUCCESS_CARD
                intent.state = (
                    SandboxIntent.State.SUCCEEDED if succeeded else SandboxIntent.State.DECLINED
                )
                intent.save(update_fields=["state"])
        self.send_webhook(intent)
        return intent

    def event_body(self, intent: SandboxIntent) -> bytes:
        kind = (
            "payment.succeeded"
            if intent.state == SandboxIntent.State.SUCCEEDED
            else "payment.failed"
        )
        return json.dumps(
            {
                "id": f"evt_{intent.token}_{intent.state}",
                "type": kind,
                "created": int(time.time()),
                "data": {"intent": intent.token, "amount": intent.amount},
            },
            separators=(",", ":"),
        ).encode()

    def send_webhook(self, intent: SandboxIntent) -> None:
        """Deliver the signed notification server-side: by HTTP when
        ``settings.PAYMENTS_SANDBOX_WEBHOOK_URL`` is set, otherwise straight into the receiving
        code path (the same verification as an HTTP delivery)."""
        body = self.event_body(intent)
        headers = {webhooks.SIGNATURE_HEADER: webhooks.signature_header(webhook_secrets()[0], body)}
        url = getattr(settings, "PAYMENTS_SANDBOX_WEBHOOK_URL", "")
        if url:
            from urllib.request import Request, urlopen

            request = Request(
                url, data=body, headers={**headers, "Content-Type": "application/json"}
            )
            with urlopen(request, timeout=10):  # noqa: S310 - configured URL of our own endpoint
                return
        from .online import receive_webhook

        receive_webhook(provider_name=self.name, body=body, headers=headers)


def load_configured_providers() -> None:
    for module in getattr(settings, "PAYMENTS_PROVIDER_MODULES", []):
        import_module(module)


load_configured_providers()
