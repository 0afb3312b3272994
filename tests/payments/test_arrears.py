"""Arrears: demand notices, reminders, late charges fixed, payment plans, the staff pages."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from factories_payments import make_charge, make_resident, revenue

from payments import arrears, batches, services
from payments.models import Charge, Notice, PlanEntry

pytestmark = pytest.mark.django_db


def _run(kind, on):
    return batches.execute(
        batches.submit(kind=kind, params={"on_date": on.isoformat()}, queue=False).pk
    )


def test_demand_notice_for_an_overdue_installment_and_not_for_a_paid_one(clerk):
    unpaid_payer, paid_payer = make_resident(), make_resident()
    unpaid = make_charge(unpaid_payer, parts=[(date(2025, 6, 30), 50_000)]).installments.get()
    paid = make_charge(paid_payer, parts=[(date(2025, 6, 30), 50_000)]).installments.get()
    services.record_counter_payment(
        payer=paid_payer, amount=50_000, clerk=clerk, paid_on=date(2025, 6, 30)
    )
    make_charge(unpaid_payer, parts=[(date(2025, 8, 1), 1_000)])  # not yet due

    run = _run("arrears", date(2025, 7, 15))
    notices = Notice.objects.all()
    assert [
        (n.installment_id, n.kind, n.issued_on, n.within_statutory_window) for n in notices
    ] == [(unpaid.pk, "demand", date(2025, 7, 15), True)]
    assert not Notice.objects.filter(installment=paid).exists()
    assert (run.succeeded_count, run.amount_total) == (1, 50_000)
    # Run again the same day: nothing twice.
    _run("arrears", date(2025, 7, 15))
    assert Notice.objects.count() == 1


def test_reminder_follows_the_demand_notice_on_schedule():
    payer = make_resident()
    installment = make_charge(payer, parts=[(date(2025, 6, 30), 50_000)]).installments.get()
    _run("arrears", date(2025, 7, 10))
    _run("arrears", date(2025, 7, 20))
    assert Notice.objects.filter(installment=installment).count() == 1
    _run("arrears", date(2025, 8, 15))
    kinds = list(Notice.objects.filter(installment=installment).values_list("kind", "sequence"))
    assert kinds == [("demand", 1), ("reminder", 1)]
    reminder = Notice.objects.get(kind="reminder")
    assert reminder.late_charge == 0  # 50,000 yen for 46 days stays under 1,000 yen


def test_late_demand_notice_is_flagged_outside_the_statutory_window():
    make_charge(make_resident(), parts=[(date(2025, 6, 30), 50_000)])
    _run("arrears", date(2025, 9, 1))
    assert Notice.objects.get().within_statutory_window is False


def test_late_charge_run_bills_the_late_charge_once_after_late_full_payment(clerk):
    revenue("late_charge")
    payer = make_resident()
    installment = make_charge(payer, parts=[(date(2025, 10, 31), 123_456)]).installments.get()
    services.record_counter_payment(
        payer=payer, amount=123_456, clerk=clerk, paid_on=date(2026, 2, 10)
    )
    _run("late_charge", date(2026, 2, 11))
    _run("late_charge", date(2026, 2, 12))
    late = Charge.objects.get(origin=f"latecharge:{installment.pk}")
    assert late.amount == 2_400


def test_payment_plan_splits_the_arrears_into_monthly_amounts(clerk):
    payer = make_resident()
    make_charge(payer, parts=[(date(2025, 6, 30), 25_000)])
    make_charge(payer, code="water", parts=[(date(2025, 7, 31), 5_000)])
    plan = arrears.create_payment_plan(
        resident=payer, clerk=clerk, monthly_amount=10_000, first_due_on=date(2030, 4, 10)
    )
    amounts = list(PlanEntry.objects.filter(plan=plan).values_list("amount", flat=True))
    assert plan.total == sum(amounts) and amounts[:-1] == [10_000] * (len(amounts) - 1)
    assert plan.total >= 30_000


def test_clerk_sees_the_arrears_list_and_the_residents_ledger(clerk_client):
    payer = make_resident()
    make_charge(payer, parts=[(date(2025, 6, 30), 25_000)])
    make_charge(payer, code="water", parts=[(date(2025, 7, 31), 5_000)])
    listing = clerk_client.get(reverse("payments:staff_arrears"))
    assert listing.status_code == 200 and "30,000" in listing.content.decode()
    page = clerk_client.get(reverse("payments:staff_resident", args=[payer.pk]))
    assert page.status_code == 200
    assert page.context["arrears"]["outstanding"] == 30_000


def test_counter_payment_gives_a_receipt_pdf(clerk_client, clerk):
    payer = make_resident()
    make_charge(payer, parts=[(date(2025, 6, 30), 25_000)])
    response = clerk_client.post(
        reverse("payments:staff_resident", args=[payer.pk]),
        {"counter-amount": "25000", "counter-idempotency_key": "k"},
    )
    assert response.status_code == 302
    pdf = clerk_client.get(response["Location"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_counter_cash_submitted_twice_is_recorded_once(clerk_client):
    """The counter form carries an idempotency key: a double submit records the cash once and
    shows the same receipt."""
    from payments.models import Payment

    payer = make_resident()
    installment = make_charge(payer, parts=[(date(2025, 6, 30), 25_000)]).installments.get()
    url = reverse("payments:staff_resident", args=[payer.pk])
    page = clerk_client.get(url)
    key = page.context["counter_form"]["idempotency_key"].value()
    assert key and f'value="{key}"' in page.content.decode()
    posted = {"counter-amount": "25000", "counter-idempotency_key": key}
    first = clerk_client.post(url, posted)
    second = clerk_client.post(url, posted)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Payment.objects.filter(payer=payer).count() == 1
    installment.refresh_from_db()
    assert installment.allocated == 25_000


def test_reconciliation_page_and_api_list_violations(clerk_client):
    from django.db import connection

    payer = make_resident()
    make_charge(payer, parts=[(date(2025, 6, 30), 25_000)])
    assert clerk_client.get("/api/payments/reconciliation/").json()["ok"] is True
    with connection.cursor() as cursor:  # a hand-made "fix" that bypasses the services
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE payments_allocation DISABLE TRIGGER allocation_totals")
        cursor.execute(
            "INSERT INTO payments_payment (channel, provider, amount, state, targets, provisional, "
            "allocated_amount, credit_amount, request_digest, created_at) VALUES "
            "('counter', '', 100, 'pending', '[]', false, 0, 0, '', now()) RETURNING id"
        )
        payment_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO payments_allocation (payment_id, installment_id, amount, released_to_credit, created_at) "
            "SELECT %s, id, 100, false, now() FROM payments_installment LIMIT 1",
            [payment_id],
        )
        cursor.execute("ALTER TABLE payments_allocation ENABLE TRIGGER allocation_totals")
    report = clerk_client.get("/api/payments/reconciliation/").json()
    assert report["ok"] is False
    assert {v["check"] for v in report["violations"]} >= {
        "installment_allocated_matches_allocations",
        "unconfirmed_payment_applies_nothing",
    }
    assert (
        "installment_allocated_matches_allocations"
        in clerk_client.get(reverse("payments:staff_reconciliation")).content.decode()
    )


def test_reminders_are_numbered_and_sent_once_each_on_schedule_then_stop(resident_user, settings):
    """A demand on D, reminders 1, 2, 3 at D + interval, D + 2·interval, D + 3·interval, one
    message each, none on the nights between and none after the maximum."""
    from datetime import timedelta

    from notices.models import EventRecord

    settings.PAYMENTS_REMINDER_INTERVAL_DAYS = 30
    settings.PAYMENTS_MAX_REMINDERS = 3
    payer = make_resident(user=resident_user)
    installment = make_charge(payer, parts=[(date(2025, 6, 30), 50_000)]).installments.get()
    demand_on = date(2025, 7, 10)
    night = demand_on
    while night <= demand_on + timedelta(days=4 * 30 + 10):
        _run("arrears", night)
        night += timedelta(days=1)
    notices = list(
        Notice.objects.filter(installment=installment)
        .order_by("issued_on")
        .values_list("kind", "sequence", "issued_on")
    )
    assert notices == [
        ("demand", 1, demand_on),
        ("reminder", 1, demand_on + timedelta(days=30)),
        ("reminder", 2, demand_on + timedelta(days=60)),
        ("reminder", 3, demand_on + timedelta(days=90)),
    ]
    assert (
        EventRecord.objects.filter(key="payments.demand_issued", resident_id=payer.pk).count() == 4
    )
