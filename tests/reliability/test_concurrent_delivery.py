"""The same payment notification, or the same imported file, delivered at the same moment by
several senders: exactly one effect."""

from __future__ import annotations

import threading
from datetime import date, time

import pytest
from django.db import connection
from django.test import Client
from factories_payments import make_charge, make_resident

from payments import batches, documents, online, selectors, webhooks
from payments.formats import konbini
from payments.models import BatchRun, Payment, WebhookEvent
from payments.providers import registry
from payments.sandbox.models import SandboxIntent
from payments.sandbox.provider import DEV_WEBHOOK_SECRET

SENDERS = 8


def in_parallel(func, count: int = SENDERS) -> list:
    """Run func in `count` threads released together; each thread has its own DB connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = func()
        except Exception as exc:  # the assertion below reports any thread's failure
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_the_same_webhook_delivered_concurrently_captures_once():
    payer = make_resident()
    charge = make_charge(payer, parts=[(date(2030, 6, 28), 4_000)])
    payment, _url = online.start_online_payment(
        payer=payer, installment_ids=[charge.installments.get().pk], return_url="/my/statement/"
    )
    intent = SandboxIntent.objects.get(reference=str(payment.pk))
    intent.state = "succeeded"
    body = registry.get("sandbox").event_body(intent)
    header = webhooks.signature_header(DEV_WEBHOOK_SECRET, body)

    def deliver():
        return Client().post(
            "/api/payments/webhooks/sandbox/",
            data=body,
            content_type="application/json",
            headers={webhooks.SIGNATURE_HEADER: header},
        )

    responses = in_parallel(deliver)
    assert all(not isinstance(r, Exception) for r in responses), responses
    assert {r.status_code for r in responses} == {200}
    assert sorted(r.json()["applied"] for r in responses) == [False] * (SENDERS - 1) + [True]
    payment.refresh_from_db()
    assert payment.state == "confirmed"
    assert payment.allocations.count() == 1
    assert WebhookEvent.objects.count() == 1
    assert payment.events.filter(kind="payment.confirmed").count() == 1
    assert selectors.reconciliation_report()["ok"]


@pytest.mark.django_db(transaction=True)
def test_the_same_convenience_store_file_imported_concurrently_pays_once():
    payer = make_resident()
    installments = [
        make_charge(payer, parts=[(date(2025, 6, 30), 5_000 + n)]).installments.get()
        for n in range(20)
    ]
    records = [
        konbini.KonbiniRecord(
            line_no=0,
            record_type="01",
            paid_date=date(2025, 7, 1),
            paid_time=time(10, n),
            barcode=documents.barcode_for(inst, amount=inst.amount, deadline=date(2025, 12, 31)),
            user1="",
            user2="",
            stamp_flag=0,
            amount=inst.amount,
            store_chain="010",
            store_name="テスト店",
            store_code="0001",
            transfer_date=None,
            file_date=date(2025, 7, 1),
        )
        for n, inst in enumerate(installments)
    ]
    data = konbini.build_result_csv(records, header=True)

    def import_file():
        run = batches.submit(kind="konbini_import", data=data, queue=False)
        return batches.execute(run.pk).pk

    results = in_parallel(import_file)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert len(set(results)) == 1
    assert BatchRun.objects.filter(kind="konbini_import").count() == 1
    run = BatchRun.objects.get(kind="konbini_import")
    assert run.state == "succeeded"
    assert Payment.objects.filter(channel="konbini").count() == 20
    assert sum(Payment.objects.values_list("amount", flat=True)) == sum(
        i.amount for i in installments
    )
    for inst in installments:
        inst.refresh_from_db()
        assert inst.allocated == inst.amount
    assert selectors.reconciliation_report()["ok"]
