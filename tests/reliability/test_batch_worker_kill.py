"""kill -9 of a Celery worker in the middle of the annual billing run.

The run is left "running" in the database; its advisory lock died with the worker's session,
so the beat job sees it as orphaned and queues it again. After a new worker finishes it, every
assessment line became exactly one charge and the money totals reconcile.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from factories_payments import assessment_csv, make_resident, quarterly_resident_tax

from payments import batches, selectors
from payments.models import BatchRun, Charge, Installment
from payments.tasks import run_batch
from workers import start_celery_worker, stop_celery_worker

# Enough lines that the run is still going half a second after it starts: the billing run
# writes 20,000 in about a second on a quiet machine since it checks charges set-based.
LINES = 60_000


def wait_for(predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def run_state(run_id: int) -> BatchRun:
    return BatchRun.objects.defer("output").get(pk=run_id)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_billing_run_resumes_with_no_lost_or_doubled_rows(monkeypatch):
    queue = f"machiba-kill-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(
        run_batch, "delay", lambda run_id: run_batch.apply_async(args=[run_id], queue=queue)
    )
    quarterly_resident_tax()
    payers = [make_resident() for _ in range(5)]
    data = assessment_csv((f"K{i}", payers[i % 5].resident_code, 40_000 + i) for i in range(LINES))
    expected_total = sum(40_000 + i for i in range(LINES))
    run = batches.submit(kind="billing", data=data, queue=False)

    doomed = start_celery_worker(queue, name="doomed-billing")
    try:
        run_batch.delay(run.pk)
        started = wait_for(
            lambda: run_state(run.pk).state == "running" and run_state(run.pk).params.get("staged"),
            90,
        )
        assert started, "the worker never started the run"
        time.sleep(0.5)  # into the chunk's transaction
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    finally:
        stop_celery_worker(doomed)

    killed = run_state(run.pk)
    assert killed.state == "running", "the run finished before the kill landed"
    assert Charge.objects.count() < LINES
    # The dead worker's database session (and its advisory lock) is gone: the run is orphaned.
    assert wait_for(lambda: run.pk in batches.orphaned_runs(), 30, 0.5)

    survivor = start_celery_worker(queue, name="survivor-billing")
    try:
        assert batches.resume_orphaned_runs() == [run.pk]
        assert wait_for(lambda: run_state(run.pk).state == "succeeded", 240, 0.5)
        # Running the beat job again now finds nothing to do.
        assert batches.resume_orphaned_runs() == []
    finally:
        stop_celery_worker(survivor)

    done = run_state(run.pk)
    assert Charge.objects.count() == LINES
    assert Installment.objects.count() == LINES * 4
    assert (done.succeeded_count, done.failed_count, done.amount_succeeded) == (
        LINES,
        0,
        expected_total,
    )
    assert sum(Charge.objects.values_list("amount", flat=True)) == expected_total
    assert selectors.reconciliation_report()["ok"]
