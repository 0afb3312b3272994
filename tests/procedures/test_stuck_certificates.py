"""Approved applications whose certificate did not come out are queued again by the beat job,
then flagged 要対応 for clerks (DESIGN.md §6)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from factories_procedures import (
    approved_application,
    make_household,
    make_procedure,
    make_resident,
)

from factories import UserFactory
from procedures import tasks
from procedures.certificates import issuing, recovery
from procedures.models import Application, CaseEvent, Certificate

ANSWERS = {"purpose": "勤務先に提出"}
LATER = timedelta(minutes=20)  # past the default 15 minutes


@pytest.fixture
def seal_procedure(db):
    return make_procedure(slug="inkan", name_ja="印鑑登録証明書の交付請求", certificate_kind="seal")


def test_a_recent_approval_is_left_alone(
    resident, residence_procedure, clerk, django_capture_on_commit_callbacks
):
    application = approved_application(resident, residence_procedure, clerk, ANSWERS)
    with django_capture_on_commit_callbacks() as queued:
        counts = recovery.retry_stuck_certificates()
    assert counts == {"requeued": 0, "flagged": 0} and queued == []
    application.refresh_from_db()
    assert application.certificate_attempts == 0


def test_a_stuck_certificate_is_queued_again_once_per_interval(
    resident, residence_procedure, clerk, django_capture_on_commit_callbacks
):
    application = approved_application(resident, residence_procedure, clerk, ANSWERS)
    now = timezone.now() + LATER
    with django_capture_on_commit_callbacks() as queued:
        counts = recovery.retry_stuck_certificates(now=now)
    assert counts == {"requeued": 1, "flagged": 0} and len(queued) == 1
    application.refresh_from_db()
    assert application.certificate_attempts == 1 and application.certificate_retried_at == now
    # A second beat run soon after does not count another attempt.
    with django_capture_on_commit_callbacks() as again:
        assert recovery.retry_stuck_certificates(now=now + timedelta(minutes=5))["requeued"] == 0
    assert again == []
    application.refresh_from_db()
    assert application.certificate_attempts == 1


def test_after_the_last_attempt_the_case_is_flagged_for_clerks(
    client, resident, residence_procedure, clerk, spouse
):
    stuck = approved_application(resident, residence_procedure, clerk, ANSWERS)
    fine = approved_application(spouse, residence_procedure, clerk, ANSWERS, user=resident.user)
    issuing.issue_certificate(application_id=fine.pk)
    now = timezone.now()
    for step in range(1, 4):
        now += LATER
        counts = recovery.retry_stuck_certificates(now=now, attempts=3)
        assert counts == {"requeued": 1, "flagged": 0}
        stuck.refresh_from_db()
        assert stuck.certificate_attempts == step and not stuck.needs_attention
    now += LATER
    assert recovery.retry_stuck_certificates(now=now, attempts=3) == {"requeued": 0, "flagged": 1}
    stuck.refresh_from_db()
    assert stuck.state == "approved" and stuck.certificate_attempts == 3
    assert stuck.needs_attention_since == now and stuck.needs_attention
    event = CaseEvent.objects.filter(application=stuck).latest("id")
    assert "要対応" in event.comment and not event.visible_to_applicant
    # Flagged once: later runs leave it to the clerks.
    assert recovery.retry_stuck_certificates(now=now + LATER) == {"requeued": 0, "flagged": 0}

    client.force_login(clerk)
    attention = client.get("/staff/cases/", {"attention": "1"}).content.decode()
    assert stuck.reference in attention and "要対応" in attention
    assert fine.reference not in attention
    everything = client.get("/staff/cases/", {"state": "completed"}).content.decode()
    assert fine.reference in everything and stuck.reference not in everything


def test_a_failure_the_records_cause_flags_the_case_at_once(resident, seal_procedure, clerk):
    application = approved_application(resident, seal_procedure, clerk, ANSWERS)
    assert tasks.issue_certificate(application.pk) is None  # the task body, run here
    application.refresh_from_db()
    assert application.state == "approved" and application.needs_attention
    assert "印鑑登録がありません" in application.certificate_error
    assert not Certificate.objects.filter(application=application).exists()


def test_the_clerk_fixes_the_cause_and_retries_from_the_case(
    client, resident, seal_procedure, clerk, django_capture_on_commit_callbacks
):
    from procedures import services

    application = approved_application(resident, seal_procedure, clerk, ANSWERS)
    tasks.issue_certificate(application.pk)
    client.force_login(clerk)
    page = client.get(f"/staff/cases/{application.pk}/").content.decode()
    assert 'id="needs-attention"' in page and "印鑑登録がありません" in page
    assert 'value="retry_certificate"' in page
    services.register_seal(resident=resident, registered_on="2021-04-01", number="S-0042")
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(f"/staff/cases/{application.pk}/", {"action": "retry_certificate"})
    assert response.status_code == 302 and len(queued) == 1
    application.refresh_from_db()
    assert not application.needs_attention and application.certificate_attempts == 0
    assert application.certificate_error == ""
    assert tasks.issue_certificate(application.pk) is not None
    application.refresh_from_db()
    assert application.state == "completed"


def test_residents_cannot_retry_a_certificate(resident, seal_procedure, clerk):
    from django.core.exceptions import PermissionDenied

    application = approved_application(resident, seal_procedure, clerk, ANSWERS)
    with pytest.raises(PermissionDenied):
        recovery.retry_certificate(application=application, clerk=resident.user)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_worker_flags_a_certificate_it_cannot_issue(celery_worker_process, clerk):
    user = UserFactory(role="resident")
    resident = make_resident(
        household=make_household(), user=user, given_name="三郎", given_name_kana="サブロウ"
    )
    procedure = make_procedure(slug="inkan-worker", certificate_kind="seal")
    application = approved_application(resident, procedure, clerk, ANSWERS)  # queues the task
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        application.refresh_from_db()
        if application.needs_attention_since is not None:
            break
        time.sleep(0.2)
    assert application.needs_attention
    assert "印鑑登録がありません" in application.certificate_error
    assert Application.objects.get(pk=application.pk).state == "approved"
