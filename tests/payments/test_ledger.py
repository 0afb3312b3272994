"""The ledger's invariants: installments sum to the charge, allocation order, credit, hooks."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from factories_payments import make_charge, make_resident, revenue

from payments import hooks, selectors, services
from payments.models import Allocation, Charge, Credit, Installment, LedgerEvent, Payment

pytestmark = pytest.mark.django_db


def test_installments_never_sum_differently_from_the_charge_in_the_database():
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 5_000), (date(2025, 8, 31), 5_000)])
    with pytest.raises(IntegrityError, match="installments of charge"):
        with transaction.atomic():
            Installment.objects.filter(charge=charge, number=2).update(
                amount=6_000, assessed_amount=6_000
            )
            connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError, match="installments of charge"):
        with transaction.atomic():
            Charge.objects.filter(pk=charge.pk).update(amount=11_000)
            connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert sum(Installment.objects.filter(charge=charge).values_list("amount", flat=True)) == 10_000


def test_split_puts_the_fraction_in_the_first_installment():
    assert services.split_installments(123_456, 4) == [33_456, 30_000, 30_000, 30_000]
    assert services.split_installments(800, 4) == [800, 0, 0, 0]
    assert sum(services.split_installments(98_765, 3)) == 98_765


def test_due_date_on_a_holiday_moves_to_the_next_business_day():
    charge = make_charge(make_resident(), parts=[(date(2025, 11, 3), 1_000)])  # 文化の日
    assert charge.installments.get().due_on == date(2025, 11, 4)


def test_payment_goes_to_the_oldest_due_date_first_and_the_rest_becomes_credit():
    payer = make_resident()
    later = make_charge(payer, code="water", parts=[(date(2025, 9, 1), 3_000)])
    older = make_charge(payer, parts=[(date(2025, 6, 30), 5_000), (date(2025, 10, 31), 5_000)])
    payment = services.create_payment(payer=payer, channel="card", amount=15_000)
    services.confirm_payment(payment_id=payment.pk, paid_on=date(2025, 11, 1))

    got = list(
        Allocation.objects.filter(payment=payment)
        .order_by("id")
        .values_list("installment__charge_id", "installment__number", "amount")
    )
    assert got == [(older.pk, 1, 5_000), (later.pk, 1, 3_000), (older.pk, 2, 5_000)]
    credit = Credit.objects.get(payment=payment)
    assert credit.amount == 2_000
    payment.refresh_from_db()
    assert (payment.state, payment.allocated_amount, payment.credit_amount) == (
        "confirmed",
        13_000,
        2_000,
    )
    assert selectors.reconciliation_report()["ok"]


def test_payment_naming_its_installment_pays_only_that_one():
    payer = make_resident()
    first = make_charge(payer, parts=[(date(2025, 6, 30), 5_000)])
    second = make_charge(payer, code="water", parts=[(date(2025, 9, 1), 3_000)])
    target = second.installments.get()
    payment = services.create_payment(
        payer=payer, channel="konbini", amount=4_000, targets=[target.pk]
    )
    services.confirm_payment(payment_id=payment.pk)
    assert first.installments.get().allocated == 0
    target.refresh_from_db()
    assert target.allocated == 3_000
    assert Credit.objects.get(payment=payment).amount == 1_000


def test_allocations_beyond_the_installment_are_refused_by_the_database():
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 5_000)])
    payment = services.create_payment(payer=payer, channel="card", amount=9_000)
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Allocation.objects.create(
                payment=payment, installment=charge.installments.get(), amount=6_000
            )


def test_confirmed_payment_whose_parts_do_not_add_up_is_refused_by_the_database():
    payer = make_resident()
    payment = services.create_payment(payer=payer, channel="card", amount=9_000)
    with pytest.raises(IntegrityError, match="confirmed_payment_fully_applied"):
        with transaction.atomic():
            Payment.objects.filter(pk=payment.pk).update(state="confirmed")


def test_allocations_are_append_only():
    payer = make_resident()
    make_charge(payer)
    payment = services.record_counter_payment(payer=payer, amount=10_000, clerk=_clerk_with_perms())
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic():
            Allocation.objects.filter(payment=payment).update(amount=1)


def _clerk_with_perms():
    from factories import UserFactory

    return UserFactory(role="clerk")


def test_credit_is_refunded_or_applied_by_a_clerk_with_events():
    clerk = _clerk_with_perms()
    payer = make_resident()
    make_charge(payer, parts=[(date(2025, 6, 30), 5_000)])
    payment = services.record_counter_payment(payer=payer, amount=8_000, clerk=clerk)
    credit = Credit.objects.get(payment=payment)
    assert credit.remaining == 3_000
    later = make_charge(payer, code="water", parts=[(date(2026, 1, 30), 2_000)]).installments.get()
    services.apply_credit(credit=credit, installment=later, amount=2_000, clerk=clerk)
    services.refund_credit(credit=credit, amount=1_000, reason="過誤納", clerk=clerk)
    credit.refresh_from_db()
    later.refresh_from_db()
    assert (credit.used, later.allocated) == (3_000, 2_000)
    with pytest.raises(ValidationError):
        services.refund_credit(credit=credit, amount=1, reason="x", clerk=clerk)
    kinds = set(LedgerEvent.objects.filter(payment=payment).values_list("kind", flat=True))
    assert {"credit.created", "credit.applied", "refund.requested"} <= kinds
    assert selectors.reconciliation_report()["ok"]


def test_correction_is_an_adjusting_entry_and_an_overpaid_reduction_becomes_credit():
    clerk = _clerk_with_perms()
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 5_000), (date(2025, 8, 29), 5_000)])
    payment = services.record_counter_payment(payer=payer, amount=5_000, clerk=clerk)
    services.correct_charge(
        charge=charge, new_amounts={1: 3_000, 2: 4_000}, reason="減額更正", clerk=clerk
    )
    charge.refresh_from_db()
    first = charge.installments.get(number=1)
    assert (charge.amount, first.amount, first.assessed_amount, first.allocated) == (
        7_000,
        3_000,
        5_000,
        3_000,
    )
    assert Credit.objects.get(payment=payment).remaining == 2_000
    payment.refresh_from_db()
    assert (payment.allocated_amount, payment.credit_amount) == (3_000, 2_000)
    assert selectors.reconciliation_report()["ok"]


def test_fee_charge_is_idempotent_on_origin_and_settled_hook_runs_once(
    django_capture_on_commit_callbacks,
):
    revenue("fee")
    calls = []

    @hooks.on_settled("test.origin:")
    def settled(origin, charge_id):
        calls.append((origin, charge_id))

    payer = make_resident()
    charge = services.create_fee_charge(
        payer=payer, amount=300, description="住民票", origin="test.origin:1"
    )
    again = services.create_fee_charge(
        payer=payer, amount=999, description="x", origin="test.origin:1"
    )
    assert again.pk == charge.pk and again.amount == 300
    assert selectors.charge_for_origin("test.origin:1").pk == charge.pk
    assert not selectors.is_settled(charge)
    with django_capture_on_commit_callbacks(execute=True):
        p = services.create_payment(
            payer=payer, channel="card", amount=300, targets=[charge.installments.get().pk]
        )
        services.confirm_payment(payment_id=p.pk)
        services.confirm_payment(payment_id=p.pk)
    assert calls == [("test.origin:1", charge.pk)]
    assert selectors.is_settled(charge)


def test_same_idempotency_key_same_body_returns_the_payment_and_different_body_conflicts():
    payer = make_resident()
    first = services.create_payment(payer=payer, channel="card", amount=500, idempotency_key="k1")
    assert (
        services.create_payment(payer=payer, channel="card", amount=500, idempotency_key="k1").pk
        == first.pk
    )
    with pytest.raises(services.IdempotencyConflict):
        services.create_payment(payer=payer, channel="card", amount=501, idempotency_key="k1")


def test_statement_selectors_list_open_installments_with_late_charge():
    payer = make_resident()
    make_charge(payer, parts=[(date(2025, 10, 31), 123_456)])
    make_charge(payer, code="water", parts=[(date(2025, 12, 1), 3_000)])
    rows = selectors.open_installments_for_resident(payer, as_of=date(2026, 2, 10))
    assert [r["revenue_code"] for r in rows] == ["resident_tax", "water"]
    assert rows[0]["late_charge"] == 2_400
    assert rows[1]["late_charge"] == 0  # water bears no late charge
    balance = selectors.balance_for_resident(payer, as_of=date(2026, 2, 10))
    assert balance == {
        "outstanding": 126_456,
        "late_charges": 2_400,
        "total": 128_856,
        "open_installments": 2,
        "overdue_installments": 2,
        "credit": 0,
        "late_charges_pending": False,
    }
    summary = selectors.tax_summary(payer, 2025)
    assert summary["total"] == 123_456 and summary["taxes"][0]["code"] == "resident_tax"


def test_a_second_reduction_after_a_partial_reversal_releases_the_rest_to_credit():
    """Pay 10,000, correct the charge to 7,000, then to 5,000."""
    clerk = _clerk_with_perms()
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 10_000)])
    payment = services.record_counter_payment(payer=payer, amount=10_000, clerk=clerk)
    services.correct_charge(charge=charge, new_amounts={1: 7_000}, reason="減額", clerk=clerk)
    services.correct_charge(charge=charge, new_amounts={1: 5_000}, reason="減額", clerk=clerk)
    installment = charge.installments.get()
    payment.refresh_from_db()
    assert (installment.amount, installment.allocated) == (5_000, 5_000)
    assert (payment.allocated_amount, payment.credit_amount) == (5_000, 5_000)
    assert Credit.objects.get(payment=payment).remaining == 5_000
    assert selectors.reconciliation_report()["ok"]


def test_cancelling_after_a_partial_reversal_takes_back_everything_still_applied():
    """Pay 10,000, correct to 7,000, cancel: nothing stays applied from the cancelled payment."""
    clerk = _clerk_with_perms()
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 10_000)])
    payment = services.record_counter_payment(payer=payer, amount=10_000, clerk=clerk)
    services.correct_charge(charge=charge, new_amounts={1: 7_000}, reason="減額", clerk=clerk)
    services.cancel_payment(payment_id=payment.pk, reason="取消", actor=clerk)
    installment = charge.installments.get()
    payment.refresh_from_db()
    assert (installment.amount, installment.allocated) == (7_000, 0)
    assert (payment.state, payment.allocated_amount, payment.credit_amount) == ("cancelled", 0, 0)
    charge.refresh_from_db()
    assert charge.settled_at is None
    assert selectors.reconciliation_report()["ok"]
