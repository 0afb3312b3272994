"""Online payments: signed webhooks, idempotent capture, the sandbox checkout, the API."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from factories_payments import make_charge, make_resident

from payments import online, webhooks
from payments.models import Payment, WebhookEvent
from payments.providers import registry
from payments.sandbox.models import SandboxIntent
from payments.sandbox.provider import DEV_WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

WEBHOOK_URL = "/api/payments/webhooks/sandbox/"


def _pending_payment(user=None):
    payer = make_resident(user=user)
    charge = make_charge(payer, parts=[(date(2030, 6, 28), 4_000)])
    payment, url = online.start_online_payment(
        payer=payer, installment_ids=[charge.installments.get().pk], return_url="/my/statement/"
    )
    intent = SandboxIntent.objects.get(reference=str(payment.pk))
    return payment, intent


def _event(intent, state="succeeded", amount=None):
    intent.state = state
    body = registry.get("sandbox").event_body(intent)
    if amount is not None:
        data = json.loads(body)
        data["data"]["amount"] = amount
        body = json.dumps(data).encode()
    return body


def _post(client, body, header):
    return client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        headers={webhooks.SIGNATURE_HEADER: header},
    )


def test_webhook_with_a_bad_signature_is_refused(client):
    payment, intent = _pending_payment()
    body = _event(intent)
    response = _post(client, body, webhooks.signature_header("wrong-secret", body))
    assert response.status_code == 401
    payment.refresh_from_db()
    assert payment.state == "pending"
    assert not WebhookEvent.objects.exists()


def test_webhook_with_an_old_timestamp_is_refused(client):
    payment, intent = _pending_payment()
    body = _event(intent)
    old = int(time.time()) - 301
    response = _post(
        client, body, webhooks.signature_header(DEV_WEBHOOK_SECRET, body, timestamp=old)
    )
    assert response.status_code == 401
    assert "window" in response.json()["detail"]
    payment.refresh_from_db()
    assert payment.state == "pending"


def test_the_same_webhook_delivered_twice_captures_once(client):
    payment, intent = _pending_payment()
    body = _event(intent)
    header = webhooks.signature_header(DEV_WEBHOOK_SECRET, body)
    first = _post(client, body, header)
    second = _post(client, body, header)
    assert (first.status_code, first.json()) == (200, {"applied": True})
    assert (second.status_code, second.json()) == (200, {"applied": False})
    payment.refresh_from_db()
    assert payment.state == "confirmed"
    assert payment.allocations.count() == 1
    assert payment.events.filter(kind="payment.confirmed").count() == 1


@override_settings(PAYMENTS_WEBHOOK_SECRETS=["new-secret", "old-secret"])
def test_webhook_signed_with_the_previous_secret_is_accepted_during_rotation(client):
    payment, intent = _pending_payment()
    body = _event(intent)
    response = _post(client, body, webhooks.signature_header("old-secret", body))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.state == "confirmed"


def test_webhook_whose_amount_differs_keeps_the_captured_money_for_review(client):
    """The provider captured 1 yen where 4,000 were asked: not confirmed (nothing allocated),
    and not failed either — the money is there, in needs_review with the captured amount."""
    payment, intent = _pending_payment()
    body = _event(intent, amount=1)
    _post(client, body, webhooks.signature_header(DEV_WEBHOOK_SECRET, body))
    payment.refresh_from_db()
    assert (payment.state, payment.provider_amount, payment.allocated_amount) == (
        "needs_review",
        1,
        0,
    )
    assert payment.events.filter(kind="payment.amount_mismatch", amount=1).exists()


def test_browser_return_alone_does_not_confirm_a_payment(client, resident_user):
    payment, intent = _pending_payment(user=resident_user)
    client.force_login(resident_user)
    response = client.get(
        reverse("payments:payment_return") + f"?payment={payment.pk}&next=/my/statement/"
    )
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.state == "pending"


def test_pay_charge_runs_the_sandbox_checkout_and_returns_to_next(client, resident_user):
    payer = make_resident(user=resident_user)
    charge = make_charge(payer, code="fee", parts=[(date(2030, 6, 28), 300)])
    client.force_login(resident_user)
    url = reverse("payments:pay_charge", args=[charge.pk]) + "?next=/procedures/mine/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"idempotency_key": "abc", "next": "/procedures/mine/"})
    assert response.status_code == 302 and "/pay/sandbox/" in response["Location"]
    checkout = response["Location"]
    declined = client.post(checkout, {"card_number": "4000 0000 0000 0002"})
    assert declined.status_code == 200
    assert "ご利用になれません" in declined.content.decode()
    # A declined card leaves the checkout open: another card on the same page pays.
    assert Payment.objects.get(payer=payer).state == "pending"
    paid = client.post(checkout, {"card_number": "4242424242424242"})
    back = client.get(paid["Location"])
    assert back.status_code == 302 and back["Location"] == "/procedures/mine/"
    charge.refresh_from_db()
    assert charge.settled_at is not None


def test_pay_charge_refuses_an_unsafe_next_and_another_residents_charge(client, resident_user):
    payer = make_resident(user=resident_user)
    mine = make_charge(payer, code="fee", parts=[(date(2030, 6, 28), 300)])
    theirs = make_charge(make_resident(), code="fee", parts=[(date(2030, 6, 28), 300)])
    client.force_login(resident_user)
    assert client.get(reverse("payments:pay_charge", args=[theirs.pk])).status_code == 404
    response = client.get(
        reverse("payments:pay_charge", args=[mine.pk]) + "?next=https://evil.example/"
    )
    assert response.context["next"] == "/my/statement/"
    posted = client.post(
        reverse("payments:pay_charge", args=[mine.pk]),
        {"idempotency_key": "k", "next": "https://evil.example/"},
    )
    paid = client.post(posted["Location"], {"card_number": "4242424242424242"})
    assert "evil.example" not in client.get(paid["Location"])["Location"]


def test_api_idempotency_key_same_body_same_payment_different_body_409(client, resident_user):
    payer = make_resident(user=resident_user)
    charge = make_charge(payer, parts=[(date(2030, 6, 28), 4_000), (date(2030, 8, 30), 4_000)])
    first_id, second_id = charge.installments.order_by("number").values_list("pk", flat=True)
    client.force_login(resident_user)
    headers = {"Idempotency-Key": "key-1"}
    a = client.post(
        "/api/payments/payments/",
        {"installments": [first_id]},
        content_type="application/json",
        headers=headers,
    )
    b = client.post(
        "/api/payments/payments/",
        {"installments": [first_id]},
        content_type="application/json",
        headers=headers,
    )
    c = client.post(
        "/api/payments/payments/",
        {"installments": [second_id]},
        content_type="application/json",
        headers=headers,
    )
    assert (a.status_code, b.status_code, c.status_code) == (201, 200, 409)
    assert a.json()["payment"]["id"] == b.json()["payment"]["id"]
    assert Payment.objects.filter(payer=payer).count() == 1


def test_statement_api_shows_only_the_residents_own_installments(client, resident_user):
    payer = make_resident(user=resident_user)
    make_charge(payer, parts=[(date(2030, 6, 28), 4_000)])
    make_charge(make_resident(), parts=[(date(2030, 6, 28), 9_999)])
    client.force_login(resident_user)
    data = client.get("/api/payments/statement/").json()
    assert data["balance"]["outstanding"] == 4_000
    assert [row["amount"] for row in data["installments"]] == [4_000]
    assert client.get("/api/payments/allocations/").status_code == 403


def test_a_provider_no_longer_offered_neither_confirms_nor_fails_by_sync(settings):
    """A sandbox payment left pending when production offers no sandbox: the periodic sync must
    not confirm it from the sandbox's own book, nor crash."""
    from payments.tasks import sync_pending_payments

    payment, intent = _pending_payment()
    SandboxIntent.objects.filter(pk=intent.pk).update(state="succeeded")
    Payment.objects.filter(pk=payment.pk).update(
        created_at=payment.created_at - timedelta(minutes=20)
    )
    settings.PAYMENTS_PROVIDERS = []
    assert online.sync_with_provider(payment).state == "pending"
    assert sync_pending_payments() == 0
    payment.refresh_from_db()
    assert payment.state == "pending"


def test_the_sandbox_named_without_a_webhook_secret_is_not_offered(client, settings):
    settings.PAYMENTS_WEBHOOK_SECRETS = []
    assert not online.card_payment_offered()
    assert client.get("/pay/sandbox/any-token/").status_code == 404
