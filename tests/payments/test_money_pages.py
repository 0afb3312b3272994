"""The staff money pages: correct a charge, apply a credit (充当), refund it, decide
the requests above the threshold, settle a payment held for review — each a form, a
confirmation page and the service, with errors next to the field and an audit row per read."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from factories_payments import make_charge, make_resident

from cityhall.models import AuditEvent
from factories import UserFactory
from payments import approvals, services
from payments.models import Approval, Credit, Payment, Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def threshold(settings):
    settings.PAYMENTS_APPROVAL_THRESHOLD = 50_000
    return 50_000


def _login(client, user):
    client.force_login(user)
    return client


def _staff(role: str):
    """Another staff member, with MFA set up (the staff door asks for it)."""
    from allauth.mfa.totp.internal.auth import TOTP

    from factories import TOTP_SECRET

    user = UserFactory(role=role)
    TOTP.activate(user, TOTP_SECRET)
    return user


def test_correcting_a_charge_shows_errors_then_a_confirmation_then_applies(
    client, clerk, threshold
):
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 10_000), (date(2025, 8, 29), 10_000)])
    url = reverse("payments:staff_correct_charge", args=[charge.pk])
    _login(client, clerk)
    page = client.get(url)
    assert page.status_code == 200 and payer.full_name in page.content.decode()
    assert AuditEvent.objects.filter(
        action="payments.view_charge_correction", actor=clerk, object_id=str(payer.pk)
    ).exists()

    wrong = client.post(
        url, {"amount_1": "-5", "amount_2": "10000", "reason": "", "step": "review"}
    )
    body = wrong.content.decode()
    assert wrong.status_code == 200 and "error-summary" in body
    assert wrong.context["form"].errors.keys() == {"amount_1", "reason"}
    assert 'value="10000"' in body  # the posted values stay

    review = client.post(
        url, {"amount_1": "7000", "amount_2": "10000", "reason": "減額更正", "step": "review"}
    )
    assert "confirm-form" in review.content.decode()
    assert "10,000円 → 7,000円" in review.content.decode()
    charge.refresh_from_db()
    assert charge.amount == 20_000  # nothing changes before the confirmation
    done = client.post(
        url, {"amount_1": "7000", "amount_2": "10000", "reason": "減額更正", "step": "confirm"}
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("payments:staff_resident", args=[payer.pk])
    charge.refresh_from_db()
    assert charge.amount == 17_000


def test_a_large_correction_goes_to_another_supervisor_who_approves_it_on_the_page(
    client, supervisor, threshold
):
    other = _staff("supervisor")
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 200_000)])
    url = reverse("payments:staff_correct_charge", args=[charge.pk])
    _login(client, supervisor)
    review = client.post(url, {"amount_1": "100000", "reason": "課税誤り", "step": "review"})
    assert "承認待ち" in review.content.decode()
    client.post(url, {"amount_1": "100000", "reason": "課税誤り", "step": "confirm"})
    approval = Approval.objects.get()
    assert approval.state == "pending"

    detail = reverse("payments:staff_approval", args=[approval.pk])
    own = client.get(detail)
    assert 'id="own-request"' in own.content.decode()
    assert client.post(detail, {"decision": "approve", "step": "confirm"}).status_code == 403

    _login(client, other)
    listing = client.get(reverse("payments:staff_approvals"))
    assert detail in listing.content.decode()
    missing_reason = client.post(detail, {"decision": "reject", "note": "", "step": "review"})
    assert missing_reason.context["form"].errors.keys() == {"note"}
    confirm = client.post(detail, {"decision": "approve", "note": "確認", "step": "review"})
    assert "confirm-form" in confirm.content.decode()
    done = client.post(detail, {"decision": "approve", "note": "確認", "step": "confirm"})
    assert done.status_code == 302
    approval.refresh_from_db()
    charge.refresh_from_db()
    assert (approval.state, approval.decided_by, charge.amount) == ("approved", other, 100_000)


def test_credit_is_applied_and_refunded_from_the_pages_by_someone_who_did_not_reduce_it(
    client, clerk, threshold
):
    other = _staff("clerk")
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 10_000)])
    later = make_charge(payer, code="water", parts=[(date(2026, 1, 30), 1_000)]).installments.get()
    payment = services.record_counter_payment(payer=payer, amount=10_000, clerk=clerk)
    services.correct_charge(charge=charge, new_amounts={1: 6_000}, reason="減額", clerk=clerk)
    credit = Credit.objects.get(payment=payment)
    assert credit.remaining == 4_000

    _login(client, clerk)
    resident_page = client.get(reverse("payments:staff_resident", args=[payer.pk])).content
    assert reverse("payments:staff_refund_credit", args=[credit.pk]).encode() in resident_page
    apply_url = reverse("payments:staff_apply_credit", args=[credit.pk])
    too_much = client.post(apply_url, {"installment": later.pk, "amount": "2000", "step": "review"})
    assert too_much.context["form"].errors.keys() == {"amount"}
    client.post(apply_url, {"installment": later.pk, "amount": "1000", "step": "review"})
    client.post(apply_url, {"installment": later.pk, "amount": "1000", "step": "confirm"})
    later.refresh_from_db()
    assert later.allocated == 1_000

    refund_url = reverse("payments:staff_refund_credit", args=[credit.pk])
    refused = client.post(refund_url, {"amount": "3000", "reason": "還付", "step": "confirm"})
    assert refused.status_code == 200 and "減額更正をした" in refused.content.decode()
    assert not Refund.objects.exists()
    _login(client, other)
    done = client.post(refund_url, {"amount": "3000", "reason": "還付", "step": "confirm"})
    assert done.status_code == 302
    assert Refund.objects.get().clerk == other


def test_a_payment_held_for_review_is_accepted_by_a_supervisor(client, supervisor, clerk):
    payer = make_resident()
    installment = make_charge(payer, parts=[(date(2030, 6, 28), 4_000)]).installments.get()
    payment = services.create_payment(
        payer=payer, channel="card", amount=4_000, targets=[installment.pk], provider="sandbox"
    )
    services.hold_for_review(payment_id=payment.pk, captured_amount=5_000)
    url = reverse("payments:staff_payment_review", args=[payment.pk])
    assert _login(client, clerk).get(url).status_code == 403
    _login(client, supervisor)
    listing = client.get(reverse("payments:staff_approvals")).content.decode()
    assert url in listing and "5,000" in listing
    client.post(url, {"decision": "accept", "reason": "売上額を確認", "step": "confirm"})
    payment.refresh_from_db()
    installment.refresh_from_db()
    assert (payment.state, payment.amount, installment.allocated) == ("confirmed", 5_000, 4_000)
    assert Credit.objects.get(payment=payment).amount == 1_000
    assert payment.events.filter(kind="payment.review_accepted", actor=supervisor).exists()


def test_approvals_listed_for_clerks_but_decided_by_supervisors_only(client, clerk, threshold):
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 200_000)])
    approval = approvals.request_correction(
        charge=charge, new_amounts={1: 0}, reason="取消", clerk=UserFactory(role="clerk")
    ).approval
    _login(client, clerk)
    page = client.get(reverse("payments:staff_approval", args=[approval.pk]))
    assert 'id="not-a-decider"' in page.content.decode()
    response = client.post(
        reverse("payments:staff_approval", args=[approval.pk]),
        {"decision": "approve", "step": "confirm"},
    )
    assert response.status_code == 403
    assert Payment.objects.count() == 0
