"""The demo city's resident tax: reports, declarations, a run, payments; twice is once."""

from __future__ import annotations

import io
from datetime import date

import pytest
from factories_residents import family

from cityhall.seed import demo_accounts
from cityhall.seeding import SeedContext
from payments import selectors as payment_selectors
from taxes.models import Assessment, AssessmentRun, Declaration, SalaryReport
from taxes.seed import demo_resident_tax

pytestmark = pytest.mark.django_db


def test_seed_assesses_the_demo_city_once():
    ctx = SeedContext(residents=0, parcels=0, stdout=io.StringIO())
    demo_accounts(ctx)
    head, _spouse, _child = family(since=date(2020, 4, 1))
    ctx.shared["demo_residents"] = {"resident@demo.machiba.jp": {"resident_id": head.pk}}
    demo_resident_tax(ctx)
    counts = (
        SalaryReport.objects.count(),
        Assessment.objects.count(),
        AssessmentRun.objects.count(),
    )
    demo_resident_tax(ctx)
    assert (
        SalaryReport.objects.count(),
        Assessment.objects.count(),
        AssessmentRun.objects.count(),
    ) == counts
    declaration = Declaration.objects.get(resident=head)
    assert declaration.status == "submitted"
    assessment = Assessment.objects.get(resident=head, fiscal_year=2025)
    assert assessment.declaration_id == declaration.pk
    inputs = assessment.inputs
    assert inputs["spouse"]["age"] == 42 and inputs["medical_expenses"] == 180_000
    assert AssessmentRun.objects.get().state == "succeeded"
    assert payment_selectors.reconciliation_report()["ok"]
