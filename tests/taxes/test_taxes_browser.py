"""A resident files the 住民税申告 on a phone, page by page, with one mistake on the way; the
assessment run then computes exactly what residenttax computes for those figures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from factories_payments import revenue
from factories_residents import move_in
from factories_taxes import report_row, reports_csv

from factories import PASSWORD, UserFactory
from procedures.models import Application
from residents.models import Resident
from taxes import assessing, residenttax, services
from taxes.models import Assessment, Declaration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_declaration_filed_on_a_phone_becomes_the_assessment(
    browser, live_server, login_in_browser, clerk, supervisor, tmp_path
):
    revenue("resident_tax")  # a flushed database has lost the data migration's revenues
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
    services.import_salary_reports(
        data=reports_csv([report_row(head, payment=4_370_000, income_year=2025)]),
        file_name="r.csv",
        actor=clerk,
    )
    slip = tmp_path / "gensen.pdf"
    slip.write_bytes(PDF)
    period = f"2026-01-01..{(timezone.localdate() + timedelta(days=30)).isoformat()}"

    context = browser.new_context(
        locale="ja-JP", base_url=live_server.url, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    with override_settings(TAX_DECLARATION_PERIOD=period):
        login_in_browser(page, user.email, PASSWORD)
        page.goto("/my/tax/")
        page.get_by_role("button", name="申告を始める").click()
        assert page.input_value("#id_salary_revenue") == "4370000"
        # The likely mistake: a letter O typed for a zero.
        page.fill("#id_salary_revenue", "437O000")
        page.get_by_role("button", name="保存して次へ").click()
        assert "半角・全角の数字" in page.locator("#field-salary_revenue").inner_text()
        assert page.locator("#error-summary").is_visible()
        assert page.input_value("#id_salary_revenue") == "437O000"
        page.fill("#id_salary_revenue", "4370000")
        page.get_by_role("button", name="保存して次へ").click()

        page.fill("#id_social_insurance", "420000")
        page.fill("#id_life_old_general", "100000")
        page.locator("#estimate-total").wait_for()
        page.get_by_role("button", name="保存して次へ").click()

        # Family: the register's household, ages on 31 Dec 2025, spouse and child preselected.
        assert "40歳" in page.locator("fieldset.person").first.inner_text()
        page.get_by_role("button", name="保存して次へ").click()
        page.get_by_role("button", name="保存して次へ").click()  # medical: nothing
        page.get_by_role("button", name="保存して次へ").click()  # housing: nothing

        page.set_input_files("#id_file", str(slip))
        page.get_by_role("button", name="ファイルを添付").click()
        assert "gensen.pdf" in page.locator("#attachment-list").inner_text()
        page.get_by_role("link", name="確認へ進む").click()
        shown = page.locator("#confirm-total").inner_text()
        page.get_by_role("button", name="この内容で申告する").click()
        reference = page.locator("#reference").inner_text()
    context.close()

    declaration = Declaration.objects.get(resident=head)
    application = Application.objects.get(pk=declaration.application_id)
    assert application.reference == reference and application.state == "in_review"
    assert application.attachments.count() == 1

    run = assessing.submit_run(fiscal_year=2026, kind="initial", actor=supervisor, queue=False)
    assessing.execute_run(run.pk, today=date(2026, 5, 20))
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
    assessment = Assessment.objects.get(resident=head, fiscal_year=2026)
    assert assessment.total == expected.total
    assert assessment.result == expected.as_dict()
    assert shown == f"{expected.total:,}円"
