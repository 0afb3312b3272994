"""The assessment run as a Celery task: a supervisor starts it on the runs page, a real worker
assesses and bills; and what the database itself refuses."""

from __future__ import annotations

import time

import pytest
from django.db import DatabaseError, transaction
from factories_payments import revenue
from factories_taxes import report_row, reports_csv, taxpayer

from payments import selectors as payment_selectors
from taxes import services
from taxes.models import Assessment, AssessmentRun, DeclarationCorrection


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_supervisor_starts_a_run_that_a_real_worker_completes(
    celery_worker_process, client, supervisor, clerk
):
    revenue("resident_tax")  # a flushed database has lost the data migration's revenues
    person = taxpayer(given_name="非同期")
    services.import_salary_reports(
        data=reports_csv([report_row(person, payment=4_000_000, collection="ordinary")]),
        file_name="r.csv",
        actor=clerk,
    )
    client.force_login(supervisor)
    response = client.post(
        "/staff/taxes/runs/",
        {"fiscal_year": "2025", "kind": "initial", "reason": "", "token": "celery-test"},
    )
    run = AssessmentRun.objects.get()
    assert response["Location"] == f"/staff/taxes/runs/{run.pk}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.state in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert run.state == "succeeded", run.error
    assessment = Assessment.objects.get(resident=person)
    rows = payment_selectors.installments_for_resident(person)
    assert sum(r["amount"] for r in rows) == assessment.total > 0
    page = client.get(f"/staff/taxes/runs/{run.pk}/").content.decode()
    assert "完了" in page


@pytest.mark.django_db
def test_clerk_cannot_start_a_run_from_the_page(clerk_client):
    response = clerk_client.post(
        "/staff/taxes/runs/", {"fiscal_year": "2025", "kind": "initial", "token": "x"}
    )
    assert response.status_code == 403 and not AssessmentRun.objects.exists()


@pytest.mark.django_db
def test_assessments_and_corrections_are_history_the_database_keeps(supervisor, clerk):
    from datetime import date

    from taxes import assessing

    person = taxpayer(given_name="履歴")
    declaration = services.start_declaration(
        resident=person, user=None, fiscal_year=2025, filed_by=clerk
    )
    services.save_topic(
        declaration=declaration, topic="income", values={"salary_revenue": 3_000_000}, actor=clerk
    )
    services.submit_declaration(declaration=declaration, actor=clerk)
    run = assessing.submit_run(fiscal_year=2025, kind="initial", actor=supervisor, queue=False)
    assessing.execute_run(run.pk, today=date(2025, 5, 20))
    assessment = Assessment.objects.get(resident=person)
    with pytest.raises(DatabaseError), transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).update(total=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).delete()
    correction = services.correct_declaration(
        declaration=declaration,
        topic="medical",
        values={"medical_expenses": 200_000},
        reason="領収書",
        clerk=clerk,
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        DeclarationCorrection.objects.filter(pk=correction.pk).update(reason="書き換え")
