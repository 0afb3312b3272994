"""One lock order everywhere (payments.services' docstring): a confirmation and a correction of
the same charge, each in its own database connection, both finish and neither deadlocks."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import connection, connections
from factories_payments import make_charge, make_resident

from factories import UserFactory
from payments import selectors, services
from payments.models import Credit, Installment, Payment

pytestmark = pytest.mark.django_db(transaction=True)

# The race needs the confirmation to hold its first locks while the correction starts. A statement
# trigger that sleeps after every allocation INSERT holds it there long enough, every time.
SLOW_ALLOCATIONS = """
CREATE FUNCTION test_slow_allocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.8); RETURN NULL; END $$;
CREATE TRIGGER test_slow_allocation AFTER INSERT ON payments_allocation
    FOR EACH STATEMENT EXECUTE FUNCTION test_slow_allocation();
"""
FAST_AGAIN = """
DROP TRIGGER IF EXISTS test_slow_allocation ON payments_allocation;
DROP FUNCTION IF EXISTS test_slow_allocation();
"""


def _in_thread(results: dict, name: str, work) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = work()
        except Exception as error:  # reported by the test below
            results[name] = error
        finally:
            connections.close_all()

    return threading.Thread(target=run, name=name)


@pytest.mark.parametrize("correction_delay", [0.2, 0.5])
def test_concurrent_confirm_and_correct_on_one_charge_finish_without_deadlock(correction_delay):
    clerk = UserFactory(role="clerk")
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2025, 6, 30), 10_000), (date(2025, 8, 29), 10_000)])
    targets = list(charge.installments.order_by("number").values_list("pk", flat=True))
    payment = services.create_payment(payer=payer, channel="card", amount=20_000, targets=targets)
    with connection.cursor() as cursor:
        cursor.execute(SLOW_ALLOCATIONS)
    results: dict = {}
    try:
        confirm = _in_thread(
            results, "confirm", lambda: services.confirm_payment(payment_id=payment.pk)
        )
        correct = _in_thread(
            results,
            "correct",
            lambda: services.correct_charge(
                charge=charge, new_amounts={1: 5_000}, reason="減額更正", clerk=clerk
            ),
        )
        confirm.start()
        time.sleep(correction_delay)
        correct.start()
        confirm.join(timeout=60)
        correct.join(timeout=60)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(FAST_AGAIN)
    assert not confirm.is_alive() and not correct.is_alive()
    failures = {name: r for name, r in results.items() if isinstance(r, Exception)}
    assert not failures, failures
    payment.refresh_from_db()
    first = Installment.objects.get(pk=targets[0])
    assert payment.state == Payment.State.CONFIRMED
    assert (first.amount, first.allocated) == (5_000, 5_000)
    assert Credit.objects.get(payment=payment).remaining == 5_000
    assert selectors.reconciliation_report()["ok"]
