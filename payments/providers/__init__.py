"""Online payment providers (card, smartphone QR) behind one interface, in a small registry.

A provider class registers itself (``registry.register``); which providers are *offered* comes
from the environment (``MACHIBA_PAYMENT_PROVIDERS`` → ``settings.PAYMENTS_PROVIDERS``), the first
one being the default unless ``MACHIBA_PAYMENT_DEFAULT_PROVIDER`` names another. With none
offered, card payment is simply not offered: the pages say how else to pay.

Two providers ship: :mod:`payments.providers.stripe_checkout` (a hosted checkout at a PSP) and the
sandbox (``payments.sandbox``, a separate app installed only in development or when the sandbox
is named explicitly; ``check --deploy`` warns then). Both implement :class:`PaymentProvider`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from django.conf import settings

from ..models import Channel, Payment

# ProviderEvent.kind
SUCCEEDED = "payment.succeeded"
FAILED = "payment.failed"
IGNORED = "ignored"


@dataclass(frozen=True)
class Checkout:
    """Where to send the payer, and the provider's reference of this checkout."""

    url: str
    external_ref: str


@dataclass(frozen=True)
class ProviderEvent:
    """A verified notification, in our words. ``amount`` and ``captured_at`` are None when the
    notification does not carry them: the provider is then asked (:meth:`fetch_status`)."""

    event_id: str
    kind: str  # SUCCEEDED | FAILED | IGNORED
    external_ref: str
    payload: dict = field(default_factory=dict)
    amount: int | None = None
    captured_at: datetime | None = None


@dataclass(frozen=True)
class ProviderStatus:
    state: str  # "open" | "succeeded" | "declined" | "expired" | "refunded"
    amount: int
    # When the provider captured the money (aware datetime): the payment's paid_on is its date
    # in Japan, not the day the notification happened to arrive.
    captured_at: datetime | None = None


class ProviderError(Exception):
    """The provider could not be reached or refused the request (nothing was charged)."""


class PaymentProvider(ABC):
    """The contract of an online payment provider.

    Money moves only in :meth:`refund` (which pays money back) and at the provider's checkout,
    which the payer completes on the provider's page; nothing here captures money by itself.
    The browser's return from the checkout proves nothing: our side learns the outcome from a
    verified webhook (:meth:`parse_webhook`) confirmed by asking (:meth:`fetch_status`).

    - :meth:`start` — creates the provider's checkout for ``payment`` and returns where to send
      the payer. Does not move money. May be called again for the same payment (retry): it must
      return the same checkout (idempotent on ``payment.pk``).
    - :meth:`fetch_status` — asks the provider what happened to ``payment``. Read-only.
    - :meth:`parse_webhook` — verifies the signature and timestamp of a raw notification and
      returns it as a :class:`ProviderEvent`; raises :class:`payments.webhooks.InvalidSignature`.
      Read-only.
    - :meth:`refund` — **moves money**: pays ``amount`` yen of a captured payment back.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    channels: ClassVar[tuple[str, ...]] = (Channel.CARD,)

    def configured(self) -> bool:
        """Whether the settings it needs are there (a provider without them is not offered)."""
        return True

    def checkout_origin(self) -> str | None:
        """The origin of the provider's checkout pages when it is not this site: pages whose
        form sends the payer there must allow it in their CSP ``form-action``."""
        return None

    @abstractmethod
    def start(self, payment: Payment, *, return_url: str, cancel_url: str) -> Checkout:
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
    """Provider classes by name; only those the settings name (and that are configured) are
    offered."""

    def __init__(self) -> None:
        self._providers: dict[str, PaymentProvider] = {}

    def register(self, provider_class: type[PaymentProvider]) -> type[PaymentProvider]:
        self._providers[provider_class.name] = provider_class()
        return provider_class

    def known(self) -> list[str]:
        return sorted(self._providers)

    def label(self, name: str) -> str:
        """The provider's name for people (offered or not: old payments keep theirs)."""
        provider = self._providers.get(name)
        return str(provider.label) if provider is not None else name

    def names(self) -> list[str]:
        """The providers offered, in the order the settings give."""
        wanted = list(getattr(settings, "PAYMENTS_PROVIDERS", []) or [])
        return [
            name
            for name in wanted
            if name in self._providers and self._providers[name].configured()
        ]

    def get(self, name: str) -> PaymentProvider:
        if name not in self.names():
            raise LookupError(f"no payment provider named {name!r} is offered")
        return self._providers[name]

    def default(self) -> PaymentProvider | None:
        names = self.names()
        if not names:
            return None
        wanted = getattr(settings, "PAYMENTS_DEFAULT_PROVIDER", "") or names[0]
        return self._providers[wanted] if wanted in names else self._providers[names[0]]


registry = ProviderRegistry()
