"""Separation of duties and four eyes on money going out: the clerk who reduced a
charge cannot refund its credit, and corrections and refunds above the threshold wait for a
supervisor other than the requester, recorded in the ledger events."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from factories_payments import make_charge, make_resident

from factories import UserFactory
from payments import approvals, selectors, services
from payments.models import Adjustment, Approval, Credit, LedgerEvent, Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(settings):
    settings.PAYMENTS_APPROVAL_THRESHOLD = 50_000
    return {
        "clerk": UserFactory(role="clerk"),
        "other_clerk": UserFactory(role="clerk"),
        "supervisor": UserFactory(role="supervisor"),
        "other_supervisor": UserFactory(role="supervisor"),
    }


def _overpaid(people, amount=10_000, reduced_to=7_000):
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), amount)])
    payment = services.record_counter_payment(payer=payer, amount=amount, clerk=people["clerk"])
    approvals.request_correction(
        charge=charge, new_amounts={1: reduced_to}, reason="減額更正", clerk=people["clerk"]
    )
    return charge, Credit.objects.get(payment=payment)


def test_the_clerk_who_reduced_a_charge_cannot_refund_its_credit(people):
    _charge, credit = _overpaid(people)
    assert credit.remaining == 3_000
    with pytest.raises(ValidationError, match="減額更正をした"):
        approvals.request_refund(credit=credit, amount=3_000, reason="還付", clerk=people["clerk"])
    with pytest.raises(ValidationError, match="減額更正をした"):
        services.refund_credit(credit=credit, amount=3_000, reason="還付", clerk=people["clerk"])
    outcome = approvals.request_refund(
        credit=credit, amount=3_000, reason="還付", clerk=people["other_clerk"]
    )
    assert not outcome.pending and outcome.refund.clerk == people["other_clerk"]
    assert selectors.reconciliation_report()["ok"]


def test_a_large_correction_waits_for_another_persons_approval_then_applies(people):
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 200_000)])
    outcome = approvals.request_correction(
        charge=charge, new_amounts={1: 120_000}, reason="課税標準の更正", clerk=people["clerk"]
    )
    assert outcome.pending and outcome.approval.amount == 80_000
    charge.refresh_from_db()
    assert charge.amount == 200_000 and not Adjustment.objects.exists()
    # Nobody gets around it: not the service called directly, not the requester, not a clerk.
    with pytest.raises(ValidationError, match="承認が必要"):
        services.correct_charge(
            charge=charge, new_amounts={1: 120_000}, reason="x", clerk=people["clerk"]
        )
    with pytest.raises(PermissionDenied):
        approvals.decide(
            approval_id=outcome.approval.pk, approve=True, note="", supervisor=people["clerk"]
        )
    requester_supervisor = approvals.request_correction(
        charge=charge, new_amounts={1: 100_000}, reason="別件", clerk=people["supervisor"]
    ).approval
    with pytest.raises(ValidationError, match="自分の申請"):
        approvals.decide(
            approval_id=requester_supervisor.pk,
            approve=True,
            note="",
            supervisor=people["supervisor"],
        )

    approvals.decide(
        approval_id=outcome.approval.pk,
        approve=True,
        note="確認済",
        supervisor=people["supervisor"],
    )
    charge.refresh_from_db()
    assert charge.amount == 120_000
    adjustment = Adjustment.objects.get()
    assert (adjustment.delta, adjustment.actor) == (-80_000, people["clerk"])
    events = list(
        LedgerEvent.objects.filter(charge=charge)
        .exclude(kind="charge.created")
        .order_by("id")
        .values_list("kind", "actor_id")
    )
    assert events[:3] == [
        ("approval.requested", people["clerk"].pk),
        ("approval.requested", people["supervisor"].pk),
        ("approval.granted", people["supervisor"].pk),
    ]
    corrected = LedgerEvent.objects.get(kind="charge.corrected")
    assert corrected.data["approved_by"] == people["supervisor"].pk
    with pytest.raises(ValidationError, match="すでに決裁"):
        approvals.decide(
            approval_id=outcome.approval.pk,
            approve=True,
            note="",
            supervisor=people["other_supervisor"],
        )


def test_a_large_refund_needs_a_supervisor_who_did_not_make_the_reduction(people):
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 200_000)])
    payment = services.record_counter_payment(payer=payer, amount=200_000, clerk=people["clerk"])
    reduction = approvals.request_correction(
        charge=charge, new_amounts={1: 100_000}, reason="減額", clerk=people["clerk"]
    ).approval
    approvals.decide(
        approval_id=reduction.pk, approve=True, note="", supervisor=people["supervisor"]
    )
    credit = Credit.objects.get(payment=payment)
    assert credit.remaining == 100_000
    # The approver of the reduction may not ask for the refund either.
    with pytest.raises(ValidationError, match="減額更正をした"):
        approvals.request_refund(
            credit=credit, amount=100_000, reason="還付", clerk=people["supervisor"]
        )
    request = approvals.request_refund(
        credit=credit, amount=100_000, reason="還付", clerk=people["other_clerk"]
    )
    assert request.pending and not Refund.objects.exists()
    with pytest.raises(ValidationError, match="減額更正をした"):
        approvals.decide(
            approval_id=request.approval.pk,
            approve=True,
            note="",
            supervisor=people["supervisor"],
        )
    with pytest.raises(ValidationError):
        approvals.decide(
            approval_id=request.approval.pk,
            approve=False,
            note="",
            supervisor=people["other_supervisor"],
        )  # a rejection needs its reason
    approvals.decide(
        approval_id=request.approval.pk,
        approve=True,
        note="口座確認済",
        supervisor=people["other_supervisor"],
    )
    refund = Refund.objects.get()
    assert (refund.amount, refund.clerk) == (100_000, people["other_clerk"])
    event = LedgerEvent.objects.get(kind="refund.requested")
    assert event.data["approved_by"] == people["other_supervisor"].pk
    assert selectors.reconciliation_report()["ok"]


def test_a_rejected_request_changes_nothing(people):
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 200_000)])
    approval = approvals.request_correction(
        charge=charge, new_amounts={1: 0}, reason="全額取消", clerk=people["clerk"]
    ).approval
    approvals.decide(
        approval_id=approval.pk, approve=False, note="根拠資料なし", supervisor=people["supervisor"]
    )
    approval.refresh_from_db()
    charge.refresh_from_db()
    assert (approval.state, charge.amount) == ("rejected", 200_000)
    assert LedgerEvent.objects.filter(kind="approval.rejected", actor=people["supervisor"]).exists()


def test_the_database_refuses_an_approval_decided_by_its_requester(people):
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 200_000)])
    approval = approvals.request_correction(
        charge=charge, new_amounts={1: 0}, reason="x", clerk=people["clerk"]
    ).approval
    with pytest.raises(IntegrityError, match="approval_four_eyes"):
        with transaction.atomic():
            Approval.objects.filter(pk=approval.pk).update(
                state="approved", decided_by=people["clerk"]
            )
