"""Celery tasks of procedures: thin, idempotent, taking ids."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from .certificates import issuing


@shared_task(
    name="procedures.issue_certificate",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def issue_certificate(application_id: int) -> int | None:
    """Render and store the certificate of an approved application (once, however often run)."""
    certificate = issuing.issue_certificate(application_id=application_id)
    return certificate.pk if certificate is not None else None
