"""kill -9 of a Celery worker in the middle of rendering a certificate.

Redis keeps the unacknowledged message until its visibility timeout (hours), so the durable
state that brings the work back is in the database: the application is approved without a
certificate, and the beat job re-queues it. After a new worker starts, exactly one certificate
exists — nothing lost, nothing doubled.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import timedelta

import pytest
from celery.result import AsyncResult
from factories_procedures import make_household, make_procedure, make_resident, pdf_text

from factories import UserFactory
from procedures import services
from procedures.certificates import recovery
from procedures.models import Application, Certificate
from procedures.tasks import issue_certificate
from workers import start_celery_worker, stop_celery_worker


def wait_for(predicate, timeout: float, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_certificate_recovers_with_exactly_one(clerk, monkeypatch):
    queue = f"machiba-kill-{uuid.uuid4().hex[:8]}"
    sent: list[AsyncResult] = []

    def delay_to_own_queue(application_id):
        result = issue_certificate.apply_async(args=[application_id], queue=queue)
        sent.append(result)
        return result

    monkeypatch.setattr(issue_certificate, "delay", delay_to_own_queue)
    procedure = make_procedure(slug="juminhyo-kill", certificate_kind="residence")

    killed_mid_task = False
    for attempt in range(3):
        resident = make_resident(
            household=make_household(),
            user=UserFactory(role="resident"),
            given_name=f"強制{attempt}",
            given_name_kana="キョウセイ",
        )
        worker = start_celery_worker(queue, name=f"doomed{attempt}")
        try:
            application = services.start_application(
                procedure=procedure, resident=resident, user=resident.user
            )
            services.submit_application(
                application=application, actor=resident.user, answers={"purpose": "本人確認のため"}
            )
            services.decide(application=application, target="approved", clerk=clerk, comment="")
            task = wait_for(lambda: sent[-1] if sent else None, 10)
            assert task is not None
            started = wait_for(lambda task=task: task.state in ("STARTED", "SUCCESS"), 60)
            assert started, "the worker never took the task"
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            stop_celery_worker(worker)
        if not Certificate.objects.filter(application=application).exists():
            killed_mid_task = True
            break
    assert killed_mid_task, "the certificate was always finished before the kill landed"
    assert Application.objects.get(pk=application.pk).state == "approved"

    survivor = start_celery_worker(queue, name="survivor")
    try:
        counts = recovery.retry_stuck_certificates(after=timedelta(0))
        assert counts["requeued"] >= 1
        assert wait_for(
            lambda: Certificate.objects.filter(application=application).exists(), 120, 0.2
        )
        # The beat job running again while the first retry is done changes nothing.
        recovery.retry_stuck_certificates(after=timedelta(0))
        time.sleep(2)
    finally:
        stop_celery_worker(survivor)
    assert Certificate.objects.filter(application=application).count() == 1
    application.refresh_from_db()
    assert application.state == "completed"
    assert "強制" in pdf_text(Certificate.objects.get(application=application))
