"""System checks of payments: which online providers are offered, and the sandbox in production."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def sandbox_not_in_production(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG or "sandbox" not in settings.PAYMENTS_PROVIDERS:
        return []
    return [
        checks.Warning(
            "The sandbox payment provider is enabled with DEBUG off: residents can 'pay' with a "
            "test card and no money moves.",
            hint="Remove 'sandbox' from MACHIBA_PAYMENT_PROVIDERS outside test environments.",
            id="payments.W001",
        )
    ]


@checks.register()
def providers_known_and_configured(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    from .providers import registry

    messages = []
    for name in settings.PAYMENTS_PROVIDERS:
        if name not in registry.known():
            messages.append(
                checks.Warning(
                    f"MACHIBA_PAYMENT_PROVIDERS names {name!r}, which is not a payment provider.",
                    hint=f"Known providers: {', '.join(registry.known())}.",
                    id="payments.W002",
                )
            )
        elif name not in registry.names():
            messages.append(
                checks.Warning(
                    f"The payment provider {name!r} is named but not configured, so it is not "
                    "offered.",
                    hint="See the configuration table of the README for its variables.",
                    id="payments.W003",
                )
            )
    return messages
