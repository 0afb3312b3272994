"""The sandbox provider's checkout page (it stands in for the provider's site)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from payments.providers import registry

from .forms import CardForm
from .models import SandboxIntent
from .provider import DECLINE_CARD, SUCCESS_CARD


@never_cache
def checkout(request: HttpRequest, token: str) -> HttpResponse:
    if "sandbox" not in registry.names():
        # Named but not configured (no webhook secret): the sandbox is not offered at all.
        raise Http404
    intent = get_object_or_404(SandboxIntent, token=token)
    if intent.state != SandboxIntent.State.OPEN:
        return redirect(intent.return_url)
    form = CardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        intent, accepted = registry.get("sandbox").pay(token, form.cleaned_data["card_number"])
        if accepted:
            return redirect(intent.return_url)
        # Declined: the checkout stays open and the payer tries another card on this page.
        form.add_error(
            "card_number", _("このカードはご利用になれません。別のカードでもう一度お試しください。")
        )
    return render(
        request,
        "payments_sandbox/checkout.html",
        {
            "intent": intent,
            "form": form,
            "success_card": SUCCESS_CARD,
            "decline_card": DECLINE_CARD,
        },
    )
