"""How often WeasyPrint lays out a certificate's lines, which is most of a render's cost: the
issue date, the mayor's line and the page footer are laid out once each. Boxes of automatic
width (the absolutely positioned signature lines, the footer's margin boxes) were laid out
three times, twice more to find their shortest and longest line for shrink-to-fit."""

from __future__ import annotations

from collections import Counter

import weasyprint.layout.inline
import weasyprint.layout.preferred
from django.conf import settings
from django.utils import timezone
from factories_procedures import approved_application

from procedures.certificates import issuing
from procedures.certificates.kinds import wareki

ANSWERS = {"purpose": "勤務先に提出", "include": ["relationship"]}


def _count_line_layouts(monkeypatch) -> Counter:
    laid_out: Counter = Counter()
    for module in (weasyprint.layout.inline, weasyprint.layout.preferred):
        original = module.split_first_line

        def counting(text, *args, _original=original, **kwargs):
            laid_out[text] += 1
            return _original(text, *args, **kwargs)

        monkeypatch.setattr(module, "split_first_line", counting)
    return laid_out


def test_the_date_mayor_and_footer_lines_are_laid_out_once(
    resident, residence_procedure, clerk, monkeypatch
):
    rendered = []
    render_pdf = issuing.render_pdf
    monkeypatch.setattr(
        issuing, "render_pdf", lambda html: rendered.append(html) or render_pdf(html)
    )
    application = approved_application(
        resident, residence_procedure, clerk, ANSWERS | {"members": [str(resident.pk)]}
    )
    certificate = issuing.issue_certificate(application_id=application.pk)

    laid_out = _count_line_layouts(monkeypatch)
    render_pdf(rendered[0])

    lines = {
        "issue date": wareki(timezone.localdate()),
        "mayor": f"{settings.CITY_NAME}長",
        "footer issue number": f"発行番号 {certificate.issue_number}",
        "footer page": "1 / 1",
    }
    assert {name: laid_out[text] for name, text in lines.items()} == dict.fromkeys(lines, 1)
