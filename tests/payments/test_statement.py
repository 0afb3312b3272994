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


@pytest.mark.django_db
def test_a_slip_above_the_stores_limit_has_no_barcode_and_says_how_else_to_pay():
    """Convenience stores take a slip up to 300,000 yen: an installment above gets no barcode,
    and the statement says how to pay it instead."""
    from io import BytesIO

    from pypdf import PdfReader

    payer = make_resident()
    make_charge(payer, parts=[(date(2030, 6, 28), 300_000), (date(2030, 10, 31), 300_001)])
    context = documents.statement_context(payer, date(2030, 6, 1))
    at_limit, above = context["rows"]
    assert gs1.parse(at_limit["barcode"])["amount"] == 300_000
    assert above["barcode"] == "" and above["over_slip_limit"]
    pdf = documents.statement_pdf(payer, date(2030, 6, 1))
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "コンビニエンスストアではお支払いいただけません" in text
    assert "口座振替" in text


@pytest.mark.django_db
def test_a_late_charge_without_a_rate_for_its_year_is_not_yet_fixed_not_an_error(
    client, resident_user, monkeypatch
):
    """No rate row for this year: the statement and its API say "not yet fixed" for the late
    charge instead of reusing last year's rate — and never fail."""
    from django.utils import timezone

    from payments import latecharge

    this_year = timezone.localdate().year
    monkeypatch.setattr(
        latecharge, "RATES", {y: r for y, r in latecharge.RATES.items() if y < this_year}
    )
    payer = make_resident(user=resident_user)
    make_charge(payer, parts=[(date(this_year - 1, 6, 30), 100_000)])
    client.force_login(resident_user)
    page = client.get(reverse("payments:statement"))
    assert page.status_code == 200
    assert "未確定" in page.content.decode()
    data = client.get("/api/payments/statement/").json()
    assert data["installments"][0]["late_charge"] is None
    assert data["balance"]["late_charges_pending"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "says", "never"),
    [
        ("ja", "作成を受け付けました", "作成しています"),
        ("en", "When it is ready, a download link appears", "is being prepared"),
    ],
)
def test_the_slip_request_message_stays_true_once_the_link_appears(
    client, resident_user, language, says, never
):
    """The message stays on the page while the list below it polls and turns into a link, so it
    must not say the slip is still being made; the list itself shows the state."""
    payer = make_resident(user=resident_user)
    make_charge(payer, parts=[(date(2030, 6, 28), 10_000)])
    client.force_login(resident_user)
    client.cookies["django_language"] = language
    response = client.post(reverse("payments:statement_pdf_request"), follow=True)
    html = response.content.decode()
    assert says in html and never not in html
    document = StatementDocument.objects.get(resident=payer)
    assert f'id="document-{document.pk}"' in html
    assert 'hx-trigger="every 3s"' in html  # the list polls until the link is there
