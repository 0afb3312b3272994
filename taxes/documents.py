"""The 税額決定通知書 (notice of assessment) as a PDF, and the employers' 特別徴収 notice CSV.

The notice shows every step of the calculation (income, each deduction, the 課税標準, the levies
before and after each credit) and how the year is collected, so a taxpayer can follow it line by
line. WeasyPrint's fonts and stylesheet are loaded once per process (the IPAex fonts are most of
a render's cost), as the certificates and payments' statements do.
"""

from __future__ import annotations

import atexit
import csv
import io
from functools import cache

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from . import collection, labels, residenttax, selectors
from .models import Assessment

PDF_CSS = """
@font-face { font-family: "Doc Gothic";
  src: local("IPAexGothic"), url("file:///usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"); }
@font-face { font-family: "Doc Mincho";
  src: local("IPAexMincho"), url("file:///usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"); }
@page { size: A4; margin: 14mm 15mm 16mm;
  @bottom-right { content: counter(page) " / " counter(pages); font: 8pt "Doc Gothic"; } }
body { font-family: "Doc Mincho", serif; font-size: 9.5pt; color: #000; }
h1 { font-family: "Doc Gothic", sans-serif; font-size: 15pt; text-align: center; margin: 0 0 3mm; }
h2 { font-family: "Doc Gothic", sans-serif; font-size: 10.5pt; margin: 4mm 0 1mm; }
table { width: 100%; border-collapse: collapse; margin: 1mm 0 2mm; }
th, td { border: .3mm solid #444; padding: 1.1mm 2mm; vertical-align: top; }
th { background: #eee; font-family: "Doc Gothic", sans-serif; font-weight: normal; text-align: left; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.total td, .total th { font-weight: bold; border-top: .6mm solid #000; }
.meta { font-size: 8.5pt; }
.head { display: flex; justify-content: space-between; }
.note { font-size: 8pt; margin-top: 3mm; }
"""


@cache
def _weasy():
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    atexit.register(_weasy.cache_clear)
    return fonts, CSS(string=PDF_CSS, font_config=fonts)


def notice_context(assessment: Assessment) -> dict:
    d = residenttax.declaration_from_dict(assessment.inputs)
    result = residenttax.Assessment(
        **{
            **assessment.result,
            "deduction_items": tuple(tuple(item) for item in assessment.result["deduction_items"]),
        }
    )
    special = selectors.special_collection(assessment.resident, assessment.fiscal_year)
    months = []
    if special is not None:
        amounts = special.active_months
        months = [
            {"label": f"{m}月", "amount": amount}
            for (y, m), amount in zip(
                collection.special_months(assessment.fiscal_year), amounts, strict=True
            )
        ]
    return {
        "assessment": assessment,
        "resident": assessment.resident,
        "steps": labels.step_rows(residenttax.steps(d, result)),
        "deductions": labels.deduction_rows(result.deduction_items),
        "exempt_reason": labels.EXEMPT_REASONS.get(result.exempt_reason, ""),
        "ordinary": assessment.schedule.get("ordinary") or [],
        "special": special,
        "months": months,
        "installments": _installments(assessment),
        "city_name": settings.CITY_NAME,
        "issued_on": timezone.localdate(),
    }


def _installments(assessment: Assessment) -> list[dict]:
    from .assessing import charge_installments

    return [
        {"due_on": row["due_on"], "amount": row["amount"], "paid": row["paid"]}
        for row in charge_installments(assessment.resident, assessment.fiscal_year)
    ]


def notice_pdf(assessment: Assessment) -> bytes:
    """The notice in Japanese (the official document), whatever the reader's language."""
    from weasyprint import HTML

    fonts, css = _weasy()
    with translation.override("ja"):
        html = render_to_string("taxes/pdf/notice.html", notice_context(assessment))
    return HTML(string=html).write_pdf(stylesheets=[css], font_config=fonts)


NOTICE_COLUMNS = (
    "employer_number",
    "employer_name",
    "fiscal_year",
    "resident_code",
    "name",
    "name_kana",
    "birth_date",
    "annual",
    *(f"m{m:02d}" for m in (6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5)),
    "status",
)


def special_notice_csv(employer, fiscal_year: int) -> bytes:
    """特別徴収税額の決定通知 for one employer (地方税法321条の4): one line per employee, the annual
    amount and the twelve monthly amounts June–May; an employee moved to 普通徴収 shows the months
    deducted and ``stopped``. UTF-8 with a BOM, so spreadsheet programs read it."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(NOTICE_COLUMNS)
    for item in selectors.employer_special_collections(employer, fiscal_year):
        resident = item.resident
        amounts = item.active_months
        writer.writerow(
            [
                employer.number,
                employer.name,
                fiscal_year,
                resident.resident_code,
                resident.full_name,
                resident.full_name_kana,
                resident.birth_date.isoformat(),
                sum(amounts),
                *amounts,
                "active" if item.stopped_after is None else f"stopped_after_{item.stopped_after}",
            ]
        )
    return out.getvalue().encode("utf-8")
