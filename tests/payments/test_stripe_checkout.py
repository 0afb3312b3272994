"""The hosted-checkout provider (Stripe's API shape) against a local stub of that API: create a
session and send the payer there, learn the outcome from a signed webhook, confirm it by asking,
date the payment by the capture."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from factories_payments import make_charge, make_resident

from factories import UserFactory
from payments import online, services
from payments.models import Payment

pytestmark = pytest.mark.django_db

WEBHOOK = "/api/payments/webhooks/stripe/"
TOKYO = ZoneInfo("Asia/Tokyo")


def _start(client, resident_user, amount=4_000):
    payer = make_resident(user=resident_user)
    charge = make_charge(payer, code="fee", parts=[(date(2030, 6, 28), amount)])
    client.force_login(resident_user)
    response = client.post(
        reverse("payments:pay_charge", args=[charge.pk]) + "?next=/procedures/mine/",
        {"idempotency_key": "k1", "next": "/procedures/mine/"},
    )
    payment = Payment.objects.get(payer=payer)
    return charge, payment, response


def _post(client, body, headers):
    return client.post(WEBHOOK, data=body, content_type="application/json", headers=headers)


def test_a_card_payment_is_a_hosted_checkout_confirmed_by_webhook_and_by_asking(
    client, resident_user, stripe_stub
):
    charge, payment, response = _start(client, resident_user)
    session_id = payment.external_ref
    assert response.status_code == 302
    assert response["Location"] == f"{stripe_stub.url}/pay/{session_id}"
    assert payment.state == "pending" and payment.provider == "stripe"
    method, path, form = stripe_stub.requests[0]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    price = form["line_items"][0]["price_data"]
    assert (form["mode"], price["currency"], price["unit_amount"]) == ("payment", "jpy", "4000")
    assert form["client_reference_id"] == str(payment.pk)
    success = urlsplit(form["success_url"])
    assert success.path == "/pay/return/"
    assert parse_qs(success.query)["payment"] == [str(payment.pk)]
    assert parse_qs(urlsplit(form["cancel_url"]).query)["cancelled"] == ["1"]

    # The payer paid at 23:50 in Tokyo yesterday; the notification arrives today.
    yesterday = timezone.localdate() - timedelta(days=1)
    captured_at = datetime(yesterday.year, yesterday.month, yesterday.day, 23, 50, tzinfo=TOKYO)
    stripe_stub.complete(session_id, captured_at=captured_at)
    body, headers = stripe_stub.signed_event(session_id, "checkout.session.completed")
    first = _post(client, body, headers)
    again = _post(client, body, headers)
    assert (first.status_code, first.json()) == (200, {"applied": True})
    assert again.json() == {"applied": False}
    payment.refresh_from_db()
    assert payment.state == "confirmed"
    assert payment.paid_on == yesterday  # the capture, not the notification's arrival
    assert charge.installments.get().allocated == 4_000
    # The webhook was confirmed by asking the provider, with the charge expanded.
    asked = [r for r in stripe_stub.requests if r[0] == "GET"]
    assert asked and asked[0][2]["expand"] == ["payment_intent.latest_charge"]
    assert payment.events.filter(kind="payment.confirmed").count() == 1


def test_a_notification_with_a_bad_or_old_signature_changes_nothing(
    client, resident_user, stripe_stub
):
    _charge, payment, _response = _start(client, resident_user)
    stripe_stub.complete(payment.external_ref, captured_at=timezone.now())
    body, _headers = stripe_stub.signed_event(
        payment.external_ref, "checkout.session.completed", secret="whsec_someone_else"
    )
    assert _post(client, body, _headers).status_code == 401
    old_body, old_headers = stripe_stub.signed_event(
        payment.external_ref, "checkout.session.completed", timestamp=int(time_now()) - 301
    )
    assert _post(client, old_body, old_headers).status_code == 401
    payment.refresh_from_db()
    assert payment.state == "pending"


def time_now() -> float:
    return timezone.now().timestamp()


def test_a_captured_amount_that_differs_is_held_for_review_and_can_be_refunded(
    client, resident_user, stripe_stub
):
    _charge, payment, _response = _start(client, resident_user)
    stripe_stub.complete(payment.external_ref, captured_at=timezone.now(), amount=3_000)
    body, headers = stripe_stub.signed_event(payment.external_ref, "checkout.session.completed")
    assert _post(client, body, headers).status_code == 200
    payment.refresh_from_db()
    assert (payment.state, payment.provider_amount, payment.allocated_amount) == (
        "needs_review",
        3_000,
        0,
    )
    supervisor = UserFactory(role="supervisor")
    services.refund_reviewed_payment(
        payment_id=payment.pk, reason="金額相違のため返金", supervisor=supervisor
    )
    payment.refresh_from_db()
    assert payment.state == "cancelled"
    assert [(r["amount"], r["payment_intent"]) for r in stripe_stub.refunds] == [
        (3_000, stripe_stub.sessions[payment.external_ref]["payment_intent"]["id"])
    ]


def test_an_expired_checkout_fails_the_payment(client, resident_user, stripe_stub):
    _charge, payment, _response = _start(client, resident_user)
    stripe_stub.expire(payment.external_ref)
    body, headers = stripe_stub.signed_event(payment.external_ref, "checkout.session.expired")
    assert _post(client, body, headers).status_code == 200
    payment.refresh_from_db()
    assert payment.state == "failed"


def test_coming_back_before_the_webhook_asks_the_provider(client, resident_user, stripe_stub):
    charge, payment, _response = _start(client, resident_user)
    back = f"/pay/return/?payment={payment.pk}&next=/procedures/mine/"
    assert client.get(back).status_code == 302
    payment.refresh_from_db()
    assert payment.state == "pending"  # not paid yet: the return proves nothing
    stripe_stub.complete(payment.external_ref, captured_at=timezone.now())
    response = client.get(back)
    assert response["Location"] == "/procedures/mine/"
    payment.refresh_from_db()
    assert payment.state == "confirmed"
    charge.refresh_from_db()
    assert charge.settled_at is not None


def test_a_provider_that_cannot_be_reached_is_a_message_not_an_error(
    client, resident_user, stripe_stub, settings
):
    settings.PAYMENTS_STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    charge, payment, response = _start(client, resident_user)
    assert response.status_code == 302 and response["Location"] == "/procedures/mine/"
    payment.refresh_from_db()
    assert payment.state == "failed"
    page = client.get(reverse("payments:statement"))
    assert "決済サービスに接続できませんでした" in page.content.decode()
    assert online.card_payment_offered()
