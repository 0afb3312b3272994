"""Salary reports, the assessment run, billing through payments, 更正 and collection changes."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from factories_taxes import report_row, reports_csv, taxpayer

from factories import UserFactory
from payments import documents as payment_documents
from payments import selectors as payment_selectors
from payments import services as payment_services
from payments.formats import gs1
from residents.models import Resident
from taxes import assessing, residenttax, services
from taxes.models import Assessment, AssessmentRun, SalaryReport, SpecialCollection, TaxCharge

pytestmark = pytest.mark.django_db


def run_initial(supervisor, fiscal_year=2025, today=date(2025, 5, 20)):
    run = assessing.submit_run(
        fiscal_year=fiscal_year, kind="initial", actor=supervisor, queue=False
    )
    return assessing.execute_run(run.pk, today=today)


def test_salary_report_import_matches_residents_and_lists_the_rest(clerk):
    worker = taxpayer(given_name="一郎")
    rows = [
        report_row(worker, payment=4_370_000, social_insurance=420_000),
        report_row(worker, payment=1_000_000, employer="100002", collection="ordinary"),
        {**report_row(worker, payment=1), "resident_code": "", "name_kana": "ダレモイナイ"},
    ]
    batch = services.import_salary_reports(data=reports_csv(rows), file_name="r.csv", actor=clerk)
    assert batch.imported_count == 2
    assert batch.problems == [{"line": 4, "reason": "no_resident"}]
    assert SalaryReport.objects.filter(resident=worker).count() == 2
    again = services.import_salary_reports(data=reports_csv(rows), file_name="r.csv", actor=clerk)
    assert again.pk == batch.pk and SalaryReport.objects.count() == 2


def test_malformed_salary_report_names_the_line(clerk):
    worker = taxpayer()
    bad = reports_csv([report_row(worker, payment=1_000, birth_date="1980/05/01")])
    with pytest.raises(ValidationError) as excinfo:
        services.import_salary_reports(data=bad, file_name="bad.csv", actor=clerk)
    assert "2行目「birth_date」" in str(excinfo.value)


def test_initial_run_assesses_bills_four_installments_and_sets_special_months(supervisor, clerk):
    ordinary = taxpayer(given_name="普通")
    special = taxpayer(given_name="特徴", address="本町1丁目1番1号")
    nobody = taxpayer(given_name="無収入", address="本町2丁目2番2号")
    rows = [
        report_row(ordinary, payment=4_370_000, social_insurance=420_000, collection="ordinary",
                   spouse="ヤマダ ハナコ:1985-01-01:0"),
        report_row(special, payment=6_000_000, social_insurance=800_000),
    ]  # fmt: skip
    services.import_salary_reports(data=reports_csv(rows), file_name="r.csv", actor=clerk)
    run = run_initial(supervisor)
    assert run.state == "succeeded" and run.total == 2 and run.assessed_count == 2 and run.billed

    a = Assessment.objects.get(resident=ordinary, fiscal_year=2025)
    expected = residenttax.assess(
        residenttax.Declaration(
            fiscal_year=2025,
            age=44,
            salary_revenue=4_370_000,
            social_insurance=420_000,
            spouse=residenttax.Person(age=39),
        )
    )
    assert a.total == expected.total and a.version == 1 and a.collection == "ordinary"
    charge = payment_selectors.charge_for_origin(assessing.initial_origin(2025, ordinary.pk))
    installments = [r for r in payment_selectors.installments_for_resident(ordinary)]
    assert charge.amount == a.total
    assert [r["amount"] for r in installments] == a.schedule["ordinary"]
    assert sum(r["amount"] for r in installments) == a.total and len(installments) == 4
    assert [r["due_on"].month for r in installments] == [6, 9, 10, 2]  # moved off closed days

    s = SpecialCollection.objects.get(resident=special, fiscal_year=2025)
    assert sum(s.months) == Assessment.objects.get(resident=special).total
    assert payment_selectors.installments_for_resident(special) == []
    assert not Assessment.objects.filter(resident=nobody).exists()

    again = assessing.execute_run(run.pk)
    assert again.assessed_count == 2 and Assessment.objects.count() == 2


def test_a_killed_run_resumes_after_its_cursor_without_doing_anything_twice(supervisor, clerk):
    people = [taxpayer(given_name=f"再開{i}", address=f"本町{i}丁目1番1号") for i in range(1, 5)]
    rows = [
        report_row(p, payment=3_000_000 + i * 100_000, collection="ordinary")
        for i, p in enumerate(people)
    ]
    services.import_salary_reports(data=reports_csv(rows), file_name="r.csv", actor=clerk)
    run = assessing.submit_run(fiscal_year=2025, kind="initial", actor=supervisor, queue=False)
    original = assessing.CHUNK
    assessing.CHUNK = 2
    try:
        # The first chunk commits, then the worker "dies" in the second.
        calls = {"n": 0}
        real = assessing._assess_chunk

        def dying(run, ids, *, today):
            calls["n"] += 1
            if calls["n"] == 2:
                raise SystemExit("killed")
            return real(run, ids, today=today)

        assessing._assess_chunk = dying
        with pytest.raises(SystemExit):
            assessing.execute_run(run.pk, today=date(2025, 5, 20))
        assessing._assess_chunk = real
        AssessmentRun.objects.filter(pk=run.pk).update(state="running")
        partial = AssessmentRun.objects.get(pk=run.pk)
        assert partial.processed == 2 and partial.cursor == people[1].pk
        assert assessing.orphaned_runs() == [run.pk]
        done = assessing.execute_run(run.pk, today=date(2025, 5, 20))
    finally:
        assessing.CHUNK = original
        assessing._assess_chunk = real
    assert done.state == "succeeded" and done.processed == 4 and done.assessed_count == 4
    assert Assessment.objects.count() == 4
    assert TaxCharge.objects.count() == 4


def test_year_without_rules_cannot_be_run(supervisor):
    with pytest.raises(residenttax.NoRulesForYear):
        assessing.submit_run(fiscal_year=2027, kind="initial", actor=supervisor, queue=False)


def test_clerk_may_not_start_a_run(clerk):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        assessing.submit_run(fiscal_year=2025, kind="initial", actor=clerk, queue=False)


def _declared(resident, user, *, salary: int, clerk):
    """A declaration filed at the counter by a clerk (no period check), then its figures."""
    declaration = services.start_declaration(
        resident=resident, user=user, fiscal_year=2025, filed_by=clerk
    )
    services.save_topic(
        declaration=declaration, topic="income", values={"salary_revenue": salary}, actor=clerk
    )
    return services.submit_declaration(declaration=declaration, actor=clerk)


def test_correction_after_payment_produces_a_refund_credit(supervisor, clerk):
    resident = taxpayer(given_name="還付")
    declaration = _declared(resident, None, salary=5_000_000, clerk=clerk)
    run_initial(supervisor)
    first = Assessment.objects.get(resident=resident, is_current=True)
    assert first.total > 0
    # The resident pays the whole year at the counter.
    payment_services.record_counter_payment(payer=resident, amount=first.total, clerk=clerk)
    assert payment_selectors.balance_for_resident(resident)["outstanding"] == 0

    services.correct_declaration(
        declaration=declaration,
        topic="medical",
        values={"medical_expenses": 600_000},
        reason="医療費の領収書を確認",
        clerk=clerk,
    )
    rerun = assessing.submit_run(
        fiscal_year=2025, kind="recompute", actor=supervisor, queue=False,
        params={"token": "t1", "reason": "申告の修正\\医療費\t領収書"},
    )  # fmt: skip
    rerun = assessing.execute_run(rerun.pk, today=date(2026, 2, 16))
    assert rerun.changed_count == 1
    second = Assessment.objects.get(resident=resident, is_current=True)
    assert second.version == 2 and second.kind == "correction" and second.total < first.total
    assert second.reason == "申告の修正\\医療費\t領収書"  # written by COPY, escapes and all
    assert Assessment.objects.get(pk=first.pk).is_current is False
    credit = payment_selectors.balance_for_resident(resident)["credit"]
    assert credit == first.total - second.total
    charge = payment_selectors.charge_for_origin(assessing.initial_origin(2025, resident.pk))
    assert charge.amount == second.total  # adjusting entries, the paid history kept


def test_increase_after_the_last_due_date_is_a_new_charge(supervisor, clerk):
    resident = taxpayer(given_name="追加")
    declaration = _declared(resident, None, salary=4_000_000, clerk=clerk)
    run_initial(supervisor)
    first = Assessment.objects.get(resident=resident, is_current=True)
    services.correct_declaration(
        declaration=declaration,
        topic="income",
        values={"salary_revenue": 4_000_000, "other_income": 500_000},
        reason="雑所得の申告漏れ",
        clerk=clerk,
    )
    rerun = assessing.submit_run(
        fiscal_year=2025, kind="recompute", actor=supervisor, queue=False, params={"token": "t2"}
    )
    assessing.execute_run(rerun.pk, today=date(2026, 2, 16))
    second = Assessment.objects.get(resident=resident, is_current=True)
    extra = TaxCharge.objects.get(resident=resident, purpose="extra")
    charge = payment_selectors.charge_for_origin(extra.origin)
    assert charge.amount == second.total - first.total
    rows = payment_selectors.installments_for_resident(resident)
    assert sum(r["amount"] for r in rows) == second.total
    assert rows[-1]["due_on"] == date(2026, 3, 31)


def test_leaving_the_employer_moves_the_remainder_to_ordinary_collection(supervisor, clerk):
    worker = taxpayer(given_name="転職")
    services.import_salary_reports(
        data=reports_csv([report_row(worker, payment=5_000_000)]), file_name="r.csv", actor=clerk
    )
    run_initial(supervisor)
    special = SpecialCollection.objects.get(resident=worker)
    remainder = sum(special.months[4:])
    services.stop_special_collection(
        resident=worker,
        fiscal_year=2025,
        months_deducted=4,
        reason="left_job",
        clerk=clerk,
        today=date(2025, 10, 1),
    )
    special.refresh_from_db()
    assert special.stopped_after == 4 and special.total == sum(special.months[:4])
    rows = payment_selectors.installments_for_resident(worker)
    assert sum(r["amount"] for r in rows) == remainder
    assert [r["due_on"] for r in rows] == [date(2025, 10, 31), date(2026, 2, 2)]
    with pytest.raises(ValidationError):
        services.stop_special_collection(
            resident=worker, fiscal_year=2025, months_deducted=5, reason="left_job", clerk=clerk
        )


def test_certificate_rows_read_the_current_assessment(supervisor, clerk):
    from taxes.selectors import certificate_rows

    resident = taxpayer(given_name="証明")
    _declared(resident, None, salary=4_370_000, clerk=clerk)
    assert certificate_rows(resident, 2025) is None
    run_initial(supervisor)
    rows = dict(certificate_rows(resident, 2025))
    a = Assessment.objects.get(resident=resident)
    assert rows["年税額"] == a.total and rows["総所得金額"] == 3_054_400


def test_a_failed_run_resumes_when_executed_again(supervisor, clerk, monkeypatch):
    person = taxpayer(given_name="失敗")
    services.import_salary_reports(
        data=reports_csv([report_row(person, payment=3_000_000)]), file_name="r.csv", actor=clerk
    )
    run = assessing.submit_run(fiscal_year=2025, kind="initial", actor=supervisor, queue=False)
    real = assessing._assess_chunk

    def broken(run, ids, *, today):
        raise RuntimeError("database went away")

    monkeypatch.setattr(assessing, "_assess_chunk", broken)
    with pytest.raises(RuntimeError):
        assessing.execute_run(run.pk, today=date(2025, 5, 20))
    failed = AssessmentRun.objects.get(pk=run.pk)
    assert failed.state == "failed" and "database went away" in failed.error
    monkeypatch.setattr(assessing, "_assess_chunk", real)
    done = assessing.execute_run(run.pk, today=date(2025, 5, 20))
    assert done.state == "succeeded" and done.error == "" and done.assessed_count == 1


def test_ordinary_collection_is_on_the_unified_statement_with_convenience_store_barcodes(
    client, supervisor, clerk
):
    """Item 4: the 普通徴収 installments are the resident's statement rows (page and PDF
    context), each with a GS1-128 convenience-store code for its own amount."""
    payer = taxpayer(given_name="明細")
    user = UserFactory(role="resident")
    Resident.objects.filter(pk=payer.pk).update(user=user)
    rows = [report_row(payer, payment=4_370_000, social_insurance=420_000, collection="ordinary")]
    services.import_salary_reports(data=reports_csv(rows), file_name="r.csv", actor=clerk)
    run_initial(supervisor)
    a = Assessment.objects.get(resident=payer, fiscal_year=2025)

    context = payment_documents.statement_context(payer, as_of=date(2025, 5, 20))
    tax_rows = [r for r in context["rows"] if r["revenue_code"] == assessing.REVENUE]
    assert [r["amount"] for r in tax_rows] == a.schedule["ordinary"] and len(tax_rows) == 4
    assert sum(r["outstanding"] for r in tax_rows) == a.total == context["balance"]["outstanding"]
    for row in tax_rows:
        fields = gs1.parse(row["barcode"])
        assert fields["amount"] == row["outstanding"] and fields["fiscal_year"] == 2025
        assert "<svg" in row["barcode_svg"]

    client.force_login(user)
    page = client.get("/my/statement/").content.decode()
    for row in tax_rows:
        assert f'data-installment="{row["id"]}"' in page
    assert "個人住民税" in page and f"{a.schedule['ordinary'][0]:,}" in page
