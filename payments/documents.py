"""PDFs of collection: the unified statement (統合納付書) with one GS1-128 convenience-store
barcode per installment, counter receipts and demand notices.

WeasyPrint's font configuration and stylesheet are built once per process (per Celery worker)
and reused: loading the IPAex CJK fonts for every document is what makes PDFs slow.
"""

from __future__ import annotations

import atexit
from datetime import date, timedelta
from functools import cache

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from . import selectors
from .formats import gs1
from .models import Installment, Notice, Payment, StatementDocument

PDF_CSS = """
@font-face { font-family: "Doc Gothic";
  src: local("IPAexGothic"), url("file:///usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"); }
@font-face { font-family: "Doc Mincho";
  src: local("IPAexMincho"), url("file:///usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"); }
@page { size: A4; margin: 15mm; }
body { font-family: "Doc Mincho", "IPAexMincho", serif; font-size: 10pt; }
h1, h2, th { font-family: "Doc Gothic", "IPAexGothic", sans-serif; }
h1 { font-size: 16pt; margin: 0 0 4mm; }
table { width: 100%; border-collapse: collapse; margin: 3mm 0; }
th, td { border: 0.3mm solid #444; padding: 1.5mm 2mm; }
td.num, th.num { text-align: right; }
.slip { border: 0.4mm dashed #444; padding: 3mm; margin: 4mm 0; page-break-inside: avoid; }
.slip svg { width: 110mm; height: auto; }
.meta { font-size: 8.5pt; color: #333; }
"""

# The biller code (請求書発行企業コード) the collection agency assigned to the city.
DEFAULT_BILLER_CODE = "912345"

# The barcode has room for 999,999 yen, but the convenience-store chains take a slip only up to
# 300,000 yen (収納代行の取扱上限, the agencies' contracts); a variant is a setting.
DEFAULT_KONBINI_SLIP_LIMIT = 300_000


def konbini_slip_limit() -> int:
    return int(getattr(settings, "PAYMENTS_KONBINI_SLIP_LIMIT", DEFAULT_KONBINI_SLIP_LIMIT))


@cache
def _weasy():
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    atexit.register(_weasy.cache_clear)
    return fonts, CSS(string=PDF_CSS, font_config=fonts)


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML

    fonts, css = _weasy()
    html = render_to_string(
        template, {**context, "CITY_NAME": settings.CITY_NAME, "today": timezone.localdate()}
    )
    return HTML(string=html).write_pdf(stylesheets=[css], font_config=fonts)


def biller_code() -> str:
    return getattr(settings, "PAYMENTS_KONBINI_BILLER_CODE", DEFAULT_BILLER_CODE)


def barcode_for(installment: Installment, *, amount: int, deadline: date | None) -> str:
    """The 44 digits for paying ``amount`` of an installment at a convenience store."""
    return gs1.build(
        biller_code=biller_code(),
        revenue_code=installment.charge.revenue.slip_code,
        fiscal_year=installment.charge.fiscal_year,
        installment_key=installment.pk,
        deadline=deadline,
        amount=amount,
    )


def statement_context(resident, as_of: date) -> dict:
    rows = selectors.open_installments_for_resident(resident, as_of=as_of)
    installments = Installment.objects.select_related("charge__revenue").in_bulk(
        [row["id"] for row in rows]
    )
    # A slip is valid for a month; past due dates get the same deadline (the late charge is
    # billed separately once the principal is paid).
    deadline = as_of + timedelta(days=30)
    limit = min(konbini_slip_limit(), gs1.MAX_AMOUNT)
    for row in rows:
        # An installment above the stores' limit gets no slip: the statement says how else to
        # pay it (bank, counter, direct debit) instead.
        row["over_slip_limit"] = row["outstanding"] > limit
        if 0 < row["outstanding"] <= limit:
            code = barcode_for(
                installments[row["id"]],
                amount=row["outstanding"],
                deadline=max(deadline, row["due_on"]),
            )
            row["barcode"] = code
            row["barcode_svg"] = mark_safe(gs1.code128_svg(code))  # noqa: S308 - our own SVG
        else:
            row["barcode"] = ""
    return {
        "resident": resident,
        "rows": rows,
        "slip_limit": limit,
        "as_of": as_of,
        "balance": selectors.balance_for_resident(resident, rows=rows),
    }


def statement_pdf(resident, as_of: date) -> bytes:
    return render_pdf("payments/pdf/statement.html", statement_context(resident, as_of))


def receipt_pdf(payment: Payment) -> bytes:
    allocations = payment.allocations.select_related("installment__charge__revenue").order_by("id")
    return render_pdf("payments/pdf/receipt.html", {"payment": payment, "allocations": allocations})


def notice_pdf(notice: Notice) -> bytes:
    installment = notice.installment
    return render_pdf(
        "payments/pdf/notice.html",
        {"notice": notice, "installment": installment, "resident": installment.charge.payer},
    )


def request_statement_pdf(*, resident, as_of: date | None = None) -> StatementDocument:
    """Queue the statement PDF for a resident; the Celery task renders it after commit."""
    from .tasks import render_statement

    with transaction.atomic():
        document = StatementDocument.objects.create(
            resident=resident, as_of=as_of or timezone.localdate()
        )
        transaction.on_commit(lambda: render_statement.delay(document.pk))
    return document


def render_statement_document(document_id: int) -> StatementDocument:
    """Render a queued statement once; a retried task finds it ready and does nothing."""
    document = StatementDocument.objects.select_related("resident").get(pk=document_id)
    if document.state == StatementDocument.State.READY:
        return document
    try:
        pdf = statement_pdf(document.resident, document.as_of)
    except Exception as error:
        StatementDocument.objects.filter(pk=document.pk).update(
            state=StatementDocument.State.FAILED, error=str(error)[:2000]
        )
        raise
    StatementDocument.objects.filter(pk=document.pk).update(
        state=StatementDocument.State.READY, pdf=pdf, error=""
    )
    document.refresh_from_db()
    return document
