"""Rules written twice, once in Python and once as set-based SQL for the batch jobs,
give the same result on the same random ledgers."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from factories_payments import make_charge, make_resident, revenue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.batches.billing import BILLING_SQL
from payments.batches.konbini_import import (
    KONBINI_PAYMENTS_SQL,
    SETTLE_SQL,
    _notify_final_settlements,
)
from payments.models import Allocation, BatchRun, Charge, Installment, LedgerEvent, Payment
from payments.services import ledger, split_installments
from payments.services import payments as ledger_payments

pytestmark = pytest.mark.django_db

FISCAL_YEAR = 2025


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(min_value=1, max_value=12),
    amounts=st.lists(st.integers(min_value=0, max_value=50_000_000), min_size=1, max_size=6),
)
def test_billing_sql_splits_installments_as_split_installments_does(count, amounts):
    payer = make_resident()
    tax = revenue("resident_tax")
    run = BatchRun.objects.create(kind=BatchRun.Kind.BILLING, input_digest=uuid.uuid4().hex)
    schedule = json.dumps(
        [
            {
                "revenue_id": tax.pk,
                "fiscal_year": FISCAL_YEAR,
                "number": number,
                "n": count,
                "due_on": (date(2025, 6, 30) + timedelta(days=31 * number)).isoformat(),
            }
            for number in range(1, count + 1)
        ]
    )
    with connection.cursor() as cursor:
        for line_no, amount in enumerate(amounts):
            cursor.execute(
                "INSERT INTO payments_assessment_staging (batch_run_id, line_no, assessment_key, "
                "resident_code, revenue_code, fiscal_year, amount, parcel_key) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, '')",
                [
                    run.pk,
                    line_no,
                    f"{run.pk}-{line_no}",
                    payer.resident_code,
                    tax.code,
                    FISCAL_YEAR,
                    amount,
                ],
            )
        cursor.execute(BILLING_SQL, [schedule, run.pk, 0, len(amounts), schedule])
    charges = Charge.objects.filter(origin__contains=f":{run.pk}-").prefetch_related("installments")
    by_line = {int(c.origin.rsplit("-", 1)[1]): c for c in charges}
    assert sorted(by_line) == list(range(len(amounts)))
    for line_no, amount in enumerate(amounts):
        parts = [
            i.amount for i in sorted(by_line[line_no].installments.all(), key=lambda i: i.number)
        ]
        assert parts == split_installments(amount, count)


def _rolled_back(build_and_run):
    """Run one side in a savepoint and undo it, so both sides start from the same database."""
    sid = transaction.savepoint()
    try:
        return build_and_run()
    finally:
        transaction.savepoint_rollback(sid)


def _charges(payer, spec):
    """Charges of the spec: each a list of (installment amount, amount already paid)."""
    charges = []
    for parts in spec:
        charge = make_charge(
            payer,
            parts=[
                (date(2025, 6, 30) + timedelta(days=31 * n), a) for n, (a, _) in enumerate(parts)
            ],
        )
        charges.append(charge)
    return charges


def _pay_directly(payer, installment, amount):
    """Money already applied before the step under test (a pending payment's allocation)."""
    payment = Payment.objects.create(
        payer=payer,
        channel="konbini",
        amount=amount,
        state="pending",
        external_ref=uuid.uuid4().hex,
        targets=[installment.pk],
    )
    Allocation.objects.create(payment=payment, installment=installment, amount=amount)


ledger_spec = st.lists(
    st.lists(
        st.integers(min_value=1, max_value=30_000).flatmap(
            lambda amount: st.tuples(st.just(amount), st.integers(min_value=0, max_value=amount))
        ),
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=5,
)


def _settlement_outcome(charges):
    rows = Charge.objects.filter(pk__in=[c.pk for c in charges]).order_by("pk")
    events = {
        c.pk: list(
            LedgerEvent.objects.filter(charge=c, kind__startswith="charge.settled").values_list(
                "kind", "from_state", "to_state"
            )
        )
        for c in charges
    }
    return [
        (row.settled_at is not None, row.settlement_notified_at is not None, events[row.pk])
        for row in rows
    ]


@settings(
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=ledger_spec)
def test_settle_sql_settles_the_charges_update_settlement_settles(spec):
    payer = make_resident()

    def build():
        charges = _charges(payer, spec)
        for charge, parts in zip(charges, spec, strict=True):
            for installment, (_, paid) in zip(
                charge.installments.order_by("number"), parts, strict=True
            ):
                if paid:
                    _pay_directly(payer, installment, paid)
        return charges

    def python_side():
        charges = build()
        ledger._update_settlement([c.pk for c in charges])
        return _settlement_outcome(charges)

    def sql_side():
        charges = build()
        run = BatchRun.objects.create(
            kind=BatchRun.Kind.KONBINI_IMPORT, input_digest=uuid.uuid4().hex
        )
        installments = Installment.objects.filter(charge__in=charges).order_by("pk")
        with connection.cursor() as cursor:
            for line_no, installment in enumerate(installments):
                cursor.execute(
                    "INSERT INTO payments_konbini_staging (batch_run_id, line_no, record_type, "
                    "paid_on, barcode, installment_key, amount, external_ref) "
                    "VALUES (%s, %s, '02', '2025-06-01', '', %s, 0, %s)",
                    [run.pk, line_no, installment.pk, uuid.uuid4().hex],
                )
            args = [run.pk, 0, len(installments)]
            cursor.execute(SETTLE_SQL, args)
            _notify_final_settlements(cursor, args)
        return _settlement_outcome(charges)

    assert _rolled_back(python_side) == _rolled_back(sql_side)


@settings(
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    amounts=st.lists(st.integers(min_value=1, max_value=30_000), min_size=1, max_size=3),
    payments=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2), st.integers(min_value=1, max_value=40_000)
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_konbini_payments_sql_allocates_as_allocate_does(amounts, payments):
    """Konbini slips each name one installment; several slips for one installment are applied
    in the order they were recorded, the rest of each becoming credit. The import writes each
    payment confirmed with its allocation in one statement."""
    payer = make_resident()

    def build():
        charge = make_charge(
            payer,
            parts=[(date(2025, 6, 30) + timedelta(days=31 * n), a) for n, a in enumerate(amounts)],
        )
        installments = list(charge.installments.order_by("number"))
        return [
            (installments[target % len(installments)], amount) for target, amount in payments
        ], installments

    def outcome(rows, installments):
        applied = [
            sum(Allocation.objects.filter(payment=p).values_list("amount", flat=True)) for p in rows
        ]
        credit = [p.credit_amount for p in rows]
        return (
            applied,
            credit,
            [
                i.allocated
                for i in Installment.objects.filter(pk__in=[i.pk for i in installments]).order_by(
                    "number"
                )
            ],
        )

    def python_side():
        slips, installments = build()
        rows = [
            Payment.objects.create(
                payer=payer,
                channel="konbini",
                amount=amount,
                state="pending",
                external_ref=uuid.uuid4().hex,
                targets=[installment.pk],
            )
            for installment, amount in slips
        ]
        for payment in rows:
            ledger_payments._allocate(payment, ledger_payments._open_installments_in_order(payment))
        for payment in rows:
            payment.refresh_from_db()
        return outcome(rows, installments)

    def sql_side():
        slips, installments = build()
        run = BatchRun.objects.create(
            kind=BatchRun.Kind.KONBINI_IMPORT, input_digest=uuid.uuid4().hex
        )
        refs = [uuid.uuid4().hex for _ in slips]
        with connection.cursor() as cursor:
            for line_no, ((installment, amount), ref) in enumerate(zip(slips, refs, strict=True)):
                barcode = f"91000000{revenue('resident_tax').slip_code}{FISCAL_YEAR}".ljust(44, "0")
                cursor.execute(
                    "INSERT INTO payments_konbini_staging (batch_run_id, line_no, record_type, "
                    "paid_on, barcode, installment_key, amount, external_ref) "
                    "VALUES (%s, %s, '01', '2025-06-01', %s, %s, %s, %s)",
                    [run.pk, line_no, barcode, installment.pk, amount, ref],
                )
            cursor.execute(KONBINI_PAYMENTS_SQL, [run.pk, 0, len(slips)])
        rows = [Payment.objects.get(channel="konbini", external_ref=ref) for ref in refs]
        assert all(p.state == "confirmed" for p in rows)
        return outcome(rows, installments)

    assert _rolled_back(python_side) == _rolled_back(sql_side)
