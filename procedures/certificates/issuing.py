"""Issuing a certificate: render once, store privately, record it, complete the case.

Run by the Celery task after a clerk approves. Issuing the same application twice yields one
certificate: the application row is locked (select_for_update) and an existing certificate is
returned; the one-to-one key on Certificate.application backs this up in the database.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from prometheus_client import Histogram
from weasyprint import HTML

from cityhall.events import raise_event

from .. import services, workflow
from ..models import Application, Certificate
from . import assets, fontsubset, get, storage
from .kinds import wareki

# Crockford-style alphabet without 0/O, 1/I/L: codes are read aloud and typed from paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_verification_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _next_issue_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('procedures_certificate_number_seq')")
        (number,) = cursor.fetchone()
    return f"{timezone.localdate():%Y}-{number:07d}"


RENDER_SECONDS = Histogram(
    "machiba_certificate_render_seconds",
    "Time to render one certificate PDF",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32),
)


def render_pdf(html: str) -> bytes:
    """HTML to PDF with the stylesheet and fonts loaded once per process, and the subsets of
    the fonts that print only public text reused across certificates (fontsubset.py)."""
    with RENDER_SECONDS.time(), fontsubset.reusing_subsets():
        return HTML(string=html, base_url=str(assets.ASSETS)).write_pdf(
            stylesheets=[assets.stylesheet()], font_config=assets.font_config()
        )


def render_certificate_html(*, kind, context: dict, issue_number: str, code: str, issued_on) -> str:
    verify_url = settings.SITE_URL.rstrip("/") + reverse("procedures:verify", args=[code])
    return render_to_string(
        kind.template,
        context
        | {
            "title": kind.title,
            "issue_number": issue_number,
            "issued_on": wareki(issued_on),
            "code": code,
            "verify_url": verify_url,
            "qr_uri": assets.qr_png_uri(verify_url),
            "seal_uri": assets.city_seal_uri(),
            "city_name": settings.CITY_NAME,
        },
    )


@transaction.atomic
def issue_certificate(*, application_id: int) -> Certificate | None:
    """The certificate of an approved application, issuing it the first time only.

    Returns None when the application is not (or no longer) waiting for a certificate.
    """
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("procedure", "applicant__household__address")
        .get(pk=application_id)
    )
    existing = Certificate.objects.filter(application=application).first()
    if existing is not None:
        return existing
    if application.state != workflow.APPROVED or not application.procedure.certificate_kind:
        return None
    kind = get(application.procedure.certificate_kind)
    context, summary = kind.build(application)
    issued_at = timezone.now()
    issue_number = _next_issue_number()
    code = new_verification_code()
    html = render_certificate_html(
        kind=kind,
        context=context,
        issue_number=issue_number,
        code=code,
        issued_on=timezone.localdate(),
    )
    pdf = render_pdf(html)
    certificate = Certificate(
        application=application,
        kind=kind.key,
        issue_number=issue_number,
        verification_code=code,
        issued_at=issued_at,
        summary={"title": kind.title, **summary},
        sha256=hashlib.sha256(pdf).hexdigest(),
        shows_mynumber=kind.prints_mynumber(application),
        signature_id=application.signature_id,
    )
    storage.store(certificate, pdf)
    stored = certificate.file
    try:
        certificate.save()
    except Exception:
        stored.delete(save=False)
        raise
    services.complete_with_certificate(application=application)
    recipient = application.user or application.applicant.user
    if recipient is not None:
        raise_event(
            "procedures.certificate_ready",
            user_id=recipient.pk,
            resident_id=application.applicant_id,
            dedupe_key=f"procedures.certificate:{certificate.pk}",
            context={
                "procedure": application.procedure.name_ja,
                "procedure_en": application.procedure.name_en or application.procedure.name_ja,
                "reference": application.reference,
                "certificate": str(kind.title),
            },
        )
    return certificate
