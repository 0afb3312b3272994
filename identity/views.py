"""Pages of the マイナンバーカード flows: the signing callback and linking by card."""

from __future__ import annotations

import time

from allauth.socialaccount.models import SocialAccount
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from cityhall import audit
from residents import services as resident_services
from residents.selectors import resident_for_user

from . import jpki, services, signing
from .adapters import CARD_FACTS_SESSION_KEY
from .card.provider import PROVIDER_ID

# The facts the platform returned are used for linking only right after the card was read.
CARD_FACTS_MAX_AGE = 10 * 60


def callback_url(request) -> str:
    return request.build_absolute_uri(reverse("identity:sign_callback"))


@login_required
@never_cache
def sign_callback(request):
    try:
        signing_request, _signature = services.complete_signing(
            user=request.user,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error", ""),
            callback_url=callback_url(request),
            request=request,
        )
    except services.SigningFailed as failed:
        flow = failed.signing_request
        return render(
            request,
            "identity/sign_refused.html",
            {
                "message": failed.message,
                "code": failed.code,
                "retry_url": flow.retry_url if flow else "",
                "help_url": signing.hook_for(flow.origin).help_url(flow.origin) if flow else "",
            },
            status=400,
        )
    messages.success(request, _("マイナンバーカードの署名を確認しました。"))
    return redirect(signing_request.return_url)


def _fresh_card(request) -> SocialAccount | None:
    """The card this account was just connected to (or signed in with), with its four facts."""
    stash = request.session.pop(CARD_FACTS_SESSION_KEY, None)
    if not stash or time.time() - stash.get("at", 0) > CARD_FACTS_MAX_AGE:
        return None
    card = SocialAccount.objects.filter(
        user=request.user, provider=PROVIDER_ID, uid=stash.get("uid")
    ).first()
    if card is not None:
        card.facts = stash["facts"]
    return card


@login_required
@never_cache
def card_link(request):
    """Where the card login and the card connection come back to: link the account to the
    register when the card's four basic facts match it, or say what differs and where to go."""
    if resident_for_user(request.user) is not None:
        return redirect("my_dashboard")
    card = _fresh_card(request)
    if card is None:
        messages.error(request, _("マイナンバーカードの読み取りからやり直してください。"))
        return redirect("residents:my_link")
    facts = card.facts
    try:
        resident_services.link_account_by_card(
            user=request.user,
            name=facts["name"],
            address=facts["address"],
            birth_date=jpki.parse_birth_date(facts["birthdate"]),
            sex=jpki.parse_sex(facts["gender"]),
            provider=PROVIDER_ID,
            request=request,
        )
    except ValidationError as error:
        # A card that does not match the register stays no way into this account: it may be
        # someone else's card (a family member's) read by mistake.
        card.delete()
        audit.record(
            action="identity.card_disconnected",
            actor=request.user,
            obj=request.user,
            request=request,
            details={"provider": PROVIDER_ID, "reason": error.code},
        )
        return render(
            request,
            "identity/card_mismatch.html",
            {"messages_text": error.messages, "code": error.code},
            status=409,
        )
    messages.success(request, _("マイナンバーカードで住民情報と連携しました。"))
    return redirect("residents:my_info")
