"""Celery tasks of payments: thin, idempotent, take ids."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(
    name="payments.run_batch",
    bind=True,
    acks_late=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 60,
)
def run_batch(self, run_id: int) -> str:
    from .batches import execute

    return execute(run_id).state


@shared_task(name="payments.render_statement", acks_late=True, max_retries=3)
def render_statement(document_id: int) -> str:
    from .documents import render_statement_document

    return render_statement_document(document_id).state


@shared_task(name="payments.nightly_arrears", acks_late=True)
def nightly_arrears() -> int:
    """Beat: demand notices and reminders as of today (one run per day: same params, same run)."""
    from .batches import execute, submit

    run = submit(kind="arrears", params={"on_date": timezone.localdate().isoformat()}, queue=False)
    return execute(run.pk).pk


@shared_task(name="payments.nightly_late_charges", acks_late=True)
def nightly_late_charges() -> int:
    from .batches import execute, submit

    run = submit(
        kind="late_charge", params={"on_date": timezone.localdate().isoformat()}, queue=False
    )
    return execute(run.pk).pk


@shared_task(name="payments.sync_pending_payments", acks_late=True)
def sync_pending_payments() -> int:
    """Beat: ask the provider about online payments still pending after 15 minutes, so none
    stays "in progress" forever when a webhook is lost."""
    from .models import Payment
    from .online import sync_with_provider

    stale = Payment.objects.filter(
        state__in=[Payment.State.CREATED, Payment.State.PENDING],
        created_at__lt=timezone.now() - timedelta(minutes=15),
    ).exclude(provider="")
    changed = 0
    for payment in stale.iterator():
        if sync_with_provider(payment).state != payment.state:
            changed += 1
    return changed


@shared_task(name="payments.resume_orphaned_batches", acks_late=True)
def resume_orphaned_batches() -> list[int]:
    """Beat: batch runs whose worker died are queued again and continue from their cursor."""
    from .batches import resume_orphaned_runs

    return resume_orphaned_runs()


@shared_task(name="payments.announce_due_installments", acks_late=True)
def announce_due_installments() -> int:
    """Beat, daily: installments falling due in a week raise payments.installment_due."""
    from .duesoon import announce_due_installments as announce

    return announce(on_date=timezone.localdate())
