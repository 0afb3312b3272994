"""Celery tasks of taxes: thin, idempotent, take ids."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="taxes.run_assessment",
    acks_late=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 60,
)
def run_assessment(run_id: int) -> str:
    from .assessing import execute_run

    return execute_run(run_id).state


@shared_task(name="taxes.resume_orphaned_runs", acks_late=True)
def resume_orphaned_runs() -> list[int]:
    """Beat: a run whose worker died (no advisory lock held) is queued again; it continues
    from its cursor."""
    from .assessing import orphaned_runs

    orphans = orphaned_runs()
    for run_id in orphans:
        run_assessment.delay(run_id)
    return orphans
