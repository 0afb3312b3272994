"""Resident, public and staff pages of taxes through Django's test client."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from factories_residents import move_in
from factories_taxes import report_row, reports_csv, taxpayer
from pypdf import PdfReader

from cityhall.models import AuditEvent
from factories import UserFactory
from procedures.models import Application
from residents.models import Resident
from taxes import assessing, residenttax, services
from taxes.models import Assessment, Declaration, DeclarationCorrection

pytestmark = pytest.mark.django_db


def open_season():
    """A declaration period that contains today, for fiscal year 2026 (令和8年度)."""
    today = timezone.localdate()
    return override_settings(
        TAX_DECLARATION_PERIOD=f"2026-01-01..{(today + timedelta(days=30)).isoformat()}"
    )


def closed_season():
    return override_settings(TAX_DECLARATION_PERIOD="2026-02-16..2026-03-15")


@pytest.fixture
def family_user(db):
    """A linked resident user: head of a household with a wife (40) and a son (19 in 2025)."""
    user = UserFactory(role="resident")
    head = move_in(given_name="太郎", birth_date=date(1980, 5, 1), effective_on=date(2020, 4, 1))
    move_in(
        given_name="花子",
        sex="female",
        birth_date=date(1985, 3, 3),
        household=head.household,
        relationship="妻",
        effective_on=date(2020, 4, 1),
    )
    move_in(
        given_name="次郎",
        birth_date=date(2006, 8, 8),
        household=head.household,
        relationship="子",
        effective_on=date(2020, 4, 1),
    )
    Resident.objects.filter(pk=head.pk).update(user=user)
    head.refresh_from_db()
    return user, head


def test_outside_the_period_the_page_points_to_eltax(client, family_user):
    user, _head = family_user
    client.force_login(user)
    with closed_season():
        page = client.get("/my/tax/").content.decode()
        assert "オンラインの申告期間外です" in page and "https://www.eltax.lta.go.jp/" in page
        refused = client.post("/my/tax/start/", follow=True).content.decode()
    assert "申告期間外" in refused and not Declaration.objects.exists()


def test_declaration_flow_topic_by_topic_with_errors_estimate_and_confirmation(
    client, family_user, clerk
):
    user, head = family_user
    services.import_salary_reports(
        data=reports_csv([report_row(head, payment=4_370_000, income_year=2025)]),
        file_name="r.csv",
        actor=clerk,
    )
    client.force_login(user)
    with open_season():
        response = client.post("/my/tax/start/")
        declaration = Declaration.objects.get(resident=head)
        assert declaration.fiscal_year == 2026
        assert response["Location"] == f"/my/tax/declarations/{declaration.pk}/income/"
        page = client.get(response["Location"]).content.decode()
        assert 'value="4370000"' in page  # prefilled from the employer's report

        # A wrong amount: error beside the field and at the top, what was typed kept.
        bad = client.post(
            f"/my/tax/declarations/{declaration.pk}/income/",
            {"salary_revenue": "四百万", "pension_revenue": "0", "other_income": "0"},
        )
        assert bad.status_code == 400
        text = bad.content.decode()
        assert "error-summary" in text and 'id="error-salary_revenue"' in text
        assert 'value="四百万"' in text

        ok = client.post(
            f"/my/tax/declarations/{declaration.pk}/income/",
            {"salary_revenue": "４，３７０，０００円", "pension_revenue": "", "other_income": "0"},
        )
        assert ok["Location"].endswith("/insurance/")
        client.post(
            f"/my/tax/declarations/{declaration.pk}/insurance/",
            {"social_insurance": "420000", "life_old_general": "100000"},
        )
        family = client.get(f"/my/tax/declarations/{declaration.pk}/family/").content.decode()
        # Ages on 31 December 2025 from the register; the head's wife and child preselected.
        assert "花子" in family and "40歳" in family and "19歳" in family
        members = declaration.__class__.objects.get(pk=declaration.pk).data["family"]["members"]
        wife, son = (m for m in members if m["name"].endswith(("花子", "次郎")))
        form = {
            f"m-{wife['key']}-claim": "spouse",
            f"m-{wife['key']}-income": "0",
            f"m-{wife['key']}-lives_with": "on",
            f"m-{son['key']}-claim": "dependant",
            f"m-{son['key']}-income": "0",
            f"m-{son['key']}-lives_with": "on",
        }
        # The live estimate (htmx) computes what the module computes, nothing saved.
        partial = client.post(
            f"/my/tax/declarations/{declaration.pk}/family/estimate/", form, HTTP_HX_REQUEST="true"
        ).content.decode()
        expected = residenttax.assess(
            residenttax.Declaration(
                fiscal_year=2026,
                age=45,
                salary_revenue=4_370_000,
                social_insurance=420_000,
                life_insurance=residenttax.LifeInsurance(old_general=100_000),
                spouse=residenttax.Person(age=40),
                dependants=[residenttax.Person(age=19)],
            )
        )
        assert f"{expected.total:,}円" in partial
        assert (
            client.post(f"/my/tax/declarations/{declaration.pk}/family/", form).status_code == 302
        )
        client.post(f"/my/tax/declarations/{declaration.pk}/medical/", {"medical_paid": "0"})
        client.post(f"/my/tax/declarations/{declaration.pk}/housing/", {})
        confirm = client.get(f"/my/tax/declarations/{declaration.pk}/confirm/").content.decode()
        assert f"{expected.total:,}円" in confirm and "課税標準額" in confirm
        done = client.post(f"/my/tax/declarations/{declaration.pk}/confirm/", follow=True)
    declaration.refresh_from_db()
    assert declaration.status == "submitted"
    application = Application.objects.get(pk=declaration.application_id)
    assert application.state == "in_review" and application.answers["estimate"] == expected.total
    assert application.reference in done.content.decode()


def test_someone_elses_declaration_does_not_exist(client, family_user, other_resident_user):
    user, head = family_user
    declaration = services.start_declaration(
        resident=head, user=user, fiscal_year=2025, filed_by=UserFactory(role="clerk")
    )
    client.force_login(other_resident_user)
    assert client.get(f"/my/tax/declarations/{declaration.pk}/income/").status_code == 404


def test_withdrawing_the_case_withdraws_the_declaration(family_user):
    from procedures import services as procedure_services

    user, head = family_user
    with open_season():
        declaration = services.start_declaration(resident=head, user=user, fiscal_year=2026)
    procedure_services.withdraw(application=declaration.application, actor=user)
    declaration.refresh_from_db()
    assert declaration.status == "withdrawn"


def test_simulation_is_public_and_stores_nothing(client):
    before = (Declaration.objects.count(), Assessment.objects.count(), AuditEvent.objects.count())
    assert client.get("/tax/simulate/").status_code == 200
    response = client.post(
        "/tax/simulate/",
        {
            "fiscal_year": "2025",
            "age": "45",
            "salary_revenue": "4370000",
            "pension_revenue": "0",
            "social_insurance": "420000",
            "life_new_general": "0",
            "earthquake_insurance": "0",
            "spouse": "under70",
            "children_under16": "0",
            "dependants_general": "1",
            "dependants_specified": "1",
            "dependants_elderly": "0",
        },
    )
    text = response.content.decode()
    # The worked example without the life insurance: 35,000 more deductions → 3,500 more tax.
    assert response.status_code == 200 and "97,800円" in text
    assert "no-store" in response["Cache-Control"].split(", ")
    bad = client.post(
        "/tax/simulate/", {"fiscal_year": "2025", "age": "abc", "salary_revenue": "x"}
    )
    assert bad.status_code == 400
    assert (
        "年齢は数字で入力してください" in bad.content.decode()
        and 'value="x"' in bad.content.decode()
    )
    after = (Declaration.objects.count(), Assessment.objects.count(), AuditEvent.objects.count())
    assert before == after


def test_simulation_api_computes_the_worked_example(client):
    response = client.post(
        "/api/taxes/simulate/",
        {
            "fiscal_year": 2025,
            "age": 45,
            "salary_revenue": 4_370_000,
            "social_insurance": 420_000,
            "life_insurance": {"old_general": 100_000},
            "spouse": {"age": 40},
            "dependants": [{"age": 19}, {"age": 16}],
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["assessment"]["total"] == 94_300
    assert response.json()["steps"][-1]["key"] == "total"
    wrong_year = client.post(
        "/api/taxes/simulate/", {"fiscal_year": 2030, "age": 40}, content_type="application/json"
    )
    assert wrong_year.status_code == 400 and "2030" in wrong_year.content.decode()


def _assessed(supervisor, clerk, **report):
    person = taxpayer(given_name="通知")
    services.import_salary_reports(
        data=reports_csv([report_row(person, **report)]), file_name="r.csv", actor=clerk
    )
    run = assessing.submit_run(fiscal_year=2025, kind="initial", actor=supervisor, queue=False)
    assessing.execute_run(run.pk, today=date(2025, 5, 20))
    return person, Assessment.objects.get(resident=person)


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_notice_pdf_shows_each_step_for_the_resident(client, supervisor, clerk):
    person, assessment = _assessed(
        supervisor, clerk, payment=4_370_000, social_insurance=420_000, collection="ordinary"
    )
    user = UserFactory(role="resident")
    Resident.objects.filter(pk=person.pk).update(user=user)
    client.force_login(user)
    page = client.get("/my/tax/").content.decode()
    assert f"/my/tax/notices/{assessment.pk}.pdf" in page
    response = client.get(f"/my/tax/notices/{assessment.pk}.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = re.sub(r"\s+", "", _pdf_text(response.content))
    for label in (
        "給与収入",
        "給与所得",
        "所得控除の合計",
        "課税標準額",
        "調整控除",
        "所得割額",
        "均等割額",
        "年税額",
    ):
        assert label in text
    assert f"{assessment.total:,}円" in text and "第4期" in text
    other = UserFactory(role="resident")
    client.force_login(other)
    assert client.get(f"/my/tax/notices/{assessment.pk}.pdf").status_code == 404


def test_staff_pages_write_audit_rows_and_show_years(clerk_client, clerk, supervisor):
    person, assessment = _assessed(supervisor, clerk, payment=5_000_000)
    listing = clerk_client.get("/staff/taxes/?fiscal_year=2025&status=taxed")
    assert person.full_name in listing.content.decode()
    page = clerk_client.get(f"/staff/taxes/residents/{person.pk}/").content.decode()
    assert "令和7年度" in page and "当初課税" in page and "特別徴収" in page
    actions = set(AuditEvent.objects.filter(actor=clerk).values_list("action", flat=True))
    assert {"taxes.assessment_list_viewed", "taxes.resident_viewed"} <= actions
    csv_text = clerk_client.get(
        f"/staff/taxes/employers/{assessment.employer_id}/notice.csv?fiscal_year=2025"
    ).content.decode("utf-8-sig")
    header, line = csv_text.strip().splitlines()
    assert header.startswith("employer_number,") and person.resident_code in line
    assert line.split(",")[7] == str(assessment.total)
    stats = clerk_client.get("/staff/taxes/statistics/?fiscal_year=2025").content.decode()
    assert "<svg" in stats and "chart-bar" in stats


def test_clerk_corrects_a_declaration_with_a_reason(clerk_client, clerk):
    resident = taxpayer(given_name="修正")
    declaration = services.start_declaration(
        resident=resident, user=None, fiscal_year=2025, filed_by=clerk
    )
    services.submit_declaration(declaration=declaration, actor=clerk)
    url = f"/staff/taxes/declarations/{declaration.pk}/correct/medical/"
    missing = clerk_client.post(url, {"medical_paid": "300000", "medical_reimbursed": "0"})
    assert missing.status_code == 400 and "修正の理由を入力してください" in missing.content.decode()
    assert 'value="300000"' in missing.content.decode()
    done = clerk_client.post(
        url, {"medical_paid": "300000", "medical_reimbursed": "50000", "reason": "領収書を確認"}
    )
    assert done.status_code == 302
    correction = DeclarationCorrection.objects.get(declaration=declaration)
    assert correction.after["medical_expenses"] == 250_000 and correction.before == {}
    case = clerk_client.get(f"/staff/cases/{declaration.application_id}/").content.decode()
    assert f"/staff/taxes/declarations/{declaration.pk}/" in case


def test_tax_certificate_reads_the_assessment(supervisor, clerk):
    from factories_procedures import approved_application, make_procedure, pdf_text

    from procedures.certificates.issuing import issue_certificate

    person, assessment = _assessed(supervisor, clerk, payment=4_370_000, collection="ordinary")
    user = UserFactory(role="resident")
    Resident.objects.filter(pk=person.pk).update(user=user)
    person.refresh_from_db()
    procedure = make_procedure(
        certificate_kind="tax",
        name_ja="課税証明書の交付請求",
        definition={
            "fields": [
                {"id": "fiscal_year", "type": "number", "label": {"ja": "年度"}, "required": True}
            ]
        },
    )
    application = approved_application(person, procedure, clerk, {"fiscal_year": 2025})
    certificate = issue_certificate(application_id=application.pk)
    text = re.sub(r"\s+", "", pdf_text(certificate))
    assert "課税標準額" in text and f"{assessment.total:,}円" in text


def test_pages_speak_english_after_the_switch(client, clerk_client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = client.post(
        "/tax/simulate/",
        {"fiscal_year": "2025", "age": "45", "salary_revenue": "4370000", "spouse": ""},
    ).content.decode()
    assert "Resident tax estimate" in text and "Taxable income" in text and " yen" in text
    assert "住民税の試算" not in text and "課税標準額" not in text
    bad = client.post("/tax/simulate/", {"fiscal_year": "2025", "age": "x"}).content.decode()
    assert "Enter your age in digits." in bad
    clerk_client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    staff = clerk_client.get("/staff/taxes/statistics/?fiscal_year=2025").content.decode()
    assert "Resident tax statistics" in staff and "0 yen (not taxed)" in staff
