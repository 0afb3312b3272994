"""Celery tasks of procedures: thin, idempotent, taking ids."""

from __future__ import annotations

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import OperationalError

from .certificates import issuing, recovery


@shared_task(
    name="procedures.issue_certificate",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def issue_certificate(application_id: int) -> int | None:
    """Render and store the certificate of an approved application (once, however often run).

    A failure is written on the application: one the records cause (ValidationError: no seal,
    no tax record) flags the case for clerks at once; any other is retried by the beat job.
    """
    try:
        certificate = issuing.issue_certificate(application_id=application_id)
    except ValidationError as exc:
        recovery.record_failure(
            application_id=application_id, error=" ".join(exc.messages), permanent=True
        )
        return None
    except OperationalError:
        raise
    except Exception as exc:
        recovery.record_failure(
            application_id=application_id, error=f"{type(exc).__name__}: {exc}", permanent=False
        )
        raise
    return certificate.pk if certificate is not None else None


@shared_task(name="procedures.retry_stuck_certificates")
def retry_stuck_certificates() -> dict[str, int]:
    """Beat job: queue again the certificates of approved applications that did not come out,
    and flag the cases that still fail for clerks (DESIGN.md §6)."""
    return recovery.retry_stuck_certificates()


@shared_task(name="procedures.publish_due_forms")
def publish_due_forms() -> dict[str, int]:
    """Beat job: form versions scheduled for today (or a day missed while the beat was down)
    go live; see services.publish_due_forms."""
    from . import services

    return services.publish_due_forms()
