"""The unified statement: the portal page, the dashboard panel, the PDF rendered by Celery."""

from __future__ import annotations

import time
from datetime import date

import pytest
from django.urls import reverse
from factories_payments import make_charge, make_resident

from payments import documents
from payments.formats import gs1
from payments.models import StatementDocument


@pytest.mark.django_db
def test_statement_lists_open_installments_across_revenues_by_due_date(client, resident_user):
    payer = make_resident(user=resident_user)
    make_charge(payer, code="water", parts=[(date(2030, 9, 2), 3_000)])
    make_charge(payer, parts=[(date(2030, 6, 28), 10_000), (date(2030, 10, 31), 10_000)])
    make_charge(make_resident(), parts=[(date(2030, 6, 28), 77_777)])
    client.force_login(resident_user)
    response = client.get(reverse("payments:statement"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(r["revenue_code"], r["due_on"]) for r in rows] == [
        ("resident_tax", date(2030, 6, 28)),
        ("water", date(2030, 9, 2)),
        ("resident_tax", date(2030, 10, 31)),
    ]
    body = response.content.decode()
    assert "23,000" in body and "77,777" not in body
    assert "23,000" in client.get("/my/").content.decode()


@pytest.mark.django_db
def test_statement_pdf_carries_one_gs1_barcode_per_installment():
    payer = make_resident()
    make_charge(payer, parts=[(date(2030, 6, 28), 10_000), (date(2030, 10, 31), 12_300)])
    context = documents.statement_context(payer, date(2030, 6, 1))
    codes = [row["barcode"] for row in context["rows"]]
    assert len(codes) == 2
    parsed = [gs1.parse(code) for code in codes]
    assert [p["amount"] for p in parsed] == [10_000, 12_300]
    assert [int(p["installment_key"]) for p in parsed] == [row["id"] for row in context["rows"]]
    pdf = documents.statement_pdf(payer, date(2030, 6, 1))
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_statement_pdf_is_rendered_by_celery_and_downloadable_by_the_owner_only(
    celery_worker_process, client, resident_user, other_resident_user
):
    payer = make_resident(user=resident_user)
    make_charge(payer, parts=[(date(2030, 6, 28), 10_000)])
    client.force_login(resident_user)
    client.post(reverse("payments:statement_pdf_request"))
    document = StatementDocument.objects.get(resident=payer)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        document.refresh_from_db()
        if document.state != "pending":
            break
        time.sleep(0.5)
    assert document.state == "ready"
    download = client.get(reverse("payments:statement_pdf", args=[document.pk]))
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    make_resident(user=other_resident_user)
    client.force_login(other_resident_user)
    assert client.get(reverse("payments:statement_pdf", args=[document.pk])).status_code == 404
