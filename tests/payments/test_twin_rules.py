"""Issue 18.3: rules written twice, once in Python and once as set-based SQL for the batch jobs,
give the same result on the same random ledgers."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from django.db import connection
from factories_payments import make_resident, revenue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.batches.billing import BILLING_SQL
from payments.models import BatchRun, Charge
from payments.services import split_installments

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
