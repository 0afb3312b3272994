"""Property test of the ledger: any sequence of pay / correct / cancel / credit
(充当) / refund keeps every allocation accounted for, leaves no balance negative, and ends with
the database equal to a plain Python model of the same rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from factories_payments import make_charge, make_resident
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import UserFactory
from payments import selectors, services
from payments.models import Allocation, Charge, Credit, Payment

pytestmark = pytest.mark.django_db

DUE_DATES = (date(2025, 6, 30), date(2025, 8, 29))
START = 10_000


@dataclass
class ModelAllocation:
    payment: int  # index of the payment whose money it is
    from_credit: bool  # a 充当 out of that payment's credit
    installment: int
    remaining: int


@dataclass
class ModelPayment:
    amount: int
    state: str = "confirmed"
    credit: int | None = None  # the Credit row's amount; None while there is no row
    refunded: int = 0


@dataclass
class Ledger:
    """The rules of payments.services, written out plainly."""

    amounts: list[int] = field(default_factory=lambda: [START] * len(DUE_DATES))
    allocations: list[ModelAllocation] = field(default_factory=list)
    payments: list[ModelPayment] = field(default_factory=list)

    def allocated(self, installment: int) -> int:
        return sum(a.remaining for a in self.allocations if a.installment == installment)

    def applied(self, payment: int) -> int:
        return sum(
            a.remaining for a in self.allocations if a.payment == payment and not a.from_credit
        )

    def used(self, payment: int) -> int:
        applied = sum(
            a.remaining for a in self.allocations if a.payment == payment and a.from_credit
        )
        return applied + self.payments[payment].refunded

    def remaining_credit(self, payment: int) -> int:
        credit = self.payments[payment].credit
        return 0 if credit is None else credit - self.used(payment)

    def pay(self, amount: int, target: int | None) -> None:
        index = len(self.payments)
        left = amount
        for number in [target] if target is not None else range(len(self.amounts)):
            part = min(left, self.amounts[number] - self.allocated(number))
            if part > 0:
                self.allocations.append(ModelAllocation(index, False, number, part))
                left -= part
        self.payments.append(ModelPayment(amount, credit=left or None))

    def correct(self, number: int, new_amount: int) -> None:
        excess = self.allocated(number) - new_amount
        for allocation in reversed(self.allocations):
            if excess <= 0:
                break
            if allocation.installment != number or allocation.remaining <= 0:
                continue
            part = min(excess, allocation.remaining)
            excess -= part
            allocation.remaining -= part
            if not allocation.from_credit:
                payment = self.payments[allocation.payment]
                payment.credit = (payment.credit or 0) + part
        self.amounts[number] = new_amount

    def cancel(self, index: int) -> bool:
        """False when the services must refuse (the credit was used)."""
        payment = self.payments[index]
        if payment.state == "cancelled":
            return True
        if payment.credit is not None and self.used(index):
            return False
        payment.state = "cancelled"
        for allocation in self.allocations:
            if allocation.payment == index and not allocation.from_credit:
                allocation.remaining = 0
        if payment.credit is not None:
            payment.credit = 0
        return True

    def apply_credit(self, index: int, number: int, amount: int) -> bool:
        if amount > self.remaining_credit(index):
            return False
        if amount > self.amounts[number] - self.allocated(number):
            return False
        self.allocations.append(ModelAllocation(index, True, number, amount))
        return True

    def refund(self, index: int, amount: int) -> bool:
        if amount > self.remaining_credit(index):
            return False
        self.payments[index].refunded += amount
        return True


# Few distinct values, so that sequences hit the same installment and payment again and again
# (a second correction of a corrected installment, a cancellation after a correction, …).
amounts = st.sampled_from([1_000, 3_000, 5_000, 10_000, 12_000, 25_000])
new_amounts = st.sampled_from([0, 2_000, 5_000, 7_000, 10_000, 15_000])
installment_numbers = st.integers(min_value=0, max_value=len(DUE_DATES) - 1)
payment_indexes = st.integers(min_value=0, max_value=3)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), amounts, st.none() | installment_numbers),
        st.tuples(st.just("correct"), installment_numbers, new_amounts),
        st.tuples(st.just("cancel"), payment_indexes),
        st.tuples(st.just("credit"), payment_indexes, installment_numbers, amounts),
        st.tuples(st.just("refund"), payment_indexes, amounts),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def staff(db, settings):
    # Separation of duties and four-eyes rules are tested on their own; here one clerk corrects
    # and another applies and refunds, all below the approval threshold.
    settings.PAYMENTS_APPROVAL_THRESHOLD = 10_000_000
    return UserFactory(role="supervisor"), UserFactory(role="supervisor")


def _run(ops, corrector, cashier) -> None:
    payer = make_resident()
    charge = make_charge(payer, parts=[(due, START) for due in DUE_DATES])
    installments = list(charge.installments.order_by("number"))
    model = Ledger()
    payments: list[Payment] = []

    def expect(ok: bool, call) -> None:
        if ok:
            call()
        else:
            with pytest.raises(ValidationError):
                call()

    for op in ops:
        kind = op[0]
        if kind == "pay":
            _kind, amount, target = op
            payment = services.create_payment(
                payer=payer,
                channel="card",
                amount=amount,
                targets=[] if target is None else [installments[target].pk],
            )
            services.confirm_payment(payment_id=payment.pk)
            payments.append(payment)
            model.pay(amount, target)
        elif kind == "correct":
            _kind, number, new_amount = op
            if new_amount == model.amounts[number]:
                continue
            services.correct_charge(
                charge=charge, new_amounts={number + 1: new_amount}, reason="更正", clerk=corrector
            )
            model.correct(number, new_amount)
        elif not payments:
            continue
        elif kind == "cancel":
            index = op[1] % len(payments)
            ok = model.cancel(index)
            expect(
                ok,
                lambda index=index: services.cancel_payment(
                    payment_id=payments[index].pk, reason="取消", actor=cashier
                ),
            )
        elif kind in ("credit", "refund"):
            index = op[1] % len(payments)
            credit = Credit.objects.filter(payment=payments[index]).first()
            if credit is None:
                continue
            if kind == "credit":
                _kind, _index, number, amount = op
                ok = model.apply_credit(index, number, amount)
                expect(
                    ok,
                    lambda credit=credit, number=number, amount=amount: services.apply_credit(
                        credit=credit,
                        installment=installments[number],
                        amount=amount,
                        clerk=cashier,
                    ),
                )
            else:
                amount = op[2]
                ok = model.refund(index, amount)
                expect(
                    ok,
                    lambda credit=credit, amount=amount: services.refund_credit(
                        credit=credit, amount=amount, reason="還付", clerk=cashier
                    ),
                )

    # The deferred triggers (installments sum to the charge, …) fire now, not at a commit.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    for number, installment in enumerate(installments):
        installment.refresh_from_db()
        assert (installment.amount, installment.allocated) == (
            model.amounts[number],
            model.allocated(number),
        )
        assert 0 <= installment.allocated <= installment.amount
    assert Charge.objects.get(pk=charge.pk).amount == sum(model.amounts)
    for index, payment in enumerate(payments):
        payment.refresh_from_db()
        expected = model.payments[index]
        credit = Credit.objects.filter(payment=payment).first()
        assert payment.state == expected.state
        assert payment.allocated_amount == model.applied(index)
        assert payment.credit_amount == (expected.credit or 0)
        assert (credit.amount if credit else None) == expected.credit
        if credit is not None:
            assert credit.used == model.used(index)
            assert credit.remaining >= 0
        if payment.state == "confirmed":
            assert payment.allocated_amount + payment.credit_amount == payment.amount
    everything = Allocation.objects.filter(installment__charge=charge).aggregate(s=Sum("amount"))
    assert (everything["s"] or 0) == sum(model.allocated(n) for n in range(len(DUE_DATES)))
    report = selectors.reconciliation_report()
    assert report["ok"], report["violations"]


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_any_sequence_of_ledger_operations_matches_the_model(staff, ops):
    corrector, cashier = staff
    with transaction.atomic():
        _run(ops, corrector, cashier)
        transaction.set_rollback(True)
