"""Every change of state in taxes: declarations, the clerk's corrections, salary-report imports,
and moving a 特別徴収 to 普通徴収. Assessment runs and their charges are in ``assessing.py``.

Each function is one use case in one transaction, keyword-only, checks who may do it, and
raises ``ValidationError`` with a message for people.
"""

from __future__ import annotations

import hashlib
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cityhall import audit
from cityhall.roles import is_staff_member, require_permission
from procedures import casekinds, workflow
from procedures import services as procedure_services
from residents.selectors import household_members, search_residents

from . import casekind, inputs, residenttax, season
from .formats import salary_report
from .models import (
    Declaration,
    DeclarationCorrection,
    Employer,
    SalaryReport,
    SalaryReportImport,
    SpecialCollection,
)

MSG_NOT_YOURS = _("この申告を操作する権限がありません。")
MSG_NOT_EDITABLE = _("提出した申告は変更できません（市から補正を依頼されたときは変更できます）。")
MSG_CLOSED = _(
    "オンラインの申告期間外です。eLTAX・マイナポータル、または市役所の窓口で申告してください。"
)
MSG_NO_RESIDENT = _("住民の記録がありません。")
MSG_REASON = _("理由を書いてください。")
MSG_NOT_STAFF = _("この操作は職員だけができます。")
MSG_NOT_FILED = _("提出されていない申告は修正できません。")

# The case states the declaration follows (procedures' case-kind hook).
_STATUS_FOR_CASE = {
    workflow.SUBMITTED: Declaration.Status.SUBMITTED,
    workflow.IN_REVIEW: Declaration.Status.SUBMITTED,
    workflow.RESUBMITTED: Declaration.Status.SUBMITTED,
    workflow.CORRECTION_REQUESTED: Declaration.Status.RETURNED,
    workflow.APPROVED: Declaration.Status.ACCEPTED,
    workflow.COMPLETED: Declaration.Status.ACCEPTED,
    workflow.REJECTED: Declaration.Status.REJECTED,
    workflow.WITHDRAWN: Declaration.Status.WITHDRAWN,
}


def _require(actor, permission: str) -> None:
    """Refuse an actor whose role lacks `permission` (None too), in the taxes app's words."""
    try:
        require_permission(actor, permission)
    except PermissionDenied:
        raise PermissionDenied(MSG_NOT_STAFF) from None


def _salary_reports(resident, fiscal_year: int) -> list[dict]:
    return [
        report_dict(r)
        for r in SalaryReport.objects.filter(resident=resident, income_year=fiscal_year - 1)
    ]


def report_dict(report: SalaryReport) -> dict:
    return {
        "payment": report.payment,
        "social_insurance": report.social_insurance,
        "life_insurance": report.life_insurance,
        "earthquake_insurance": report.earthquake_insurance,
        "housing_loan_credit": report.housing_loan_credit,
        "spouse": report.spouse,
        "dependants": report.dependants,
        "personal": report.personal,
        "line_no": report.line_no,
    }


# --- declarations ------------------------------------------------------------------------------


def _register_family(resident, fiscal_year: int) -> list[dict]:
    others = [m for m in household_members(resident) if m.pk != resident.pk]
    return inputs.family_from_register(
        [
            {
                "resident_id": m.pk,
                "name": m.full_name,
                "relationship": m.relationship,
                "birth_date": m.birth_date,
            }
            for m in others
        ],
        declarer_is_head=resident.is_head,
        fiscal_year=fiscal_year,
    )


@transaction.atomic
def start_declaration(*, resident, user, fiscal_year: int, filed_by=None) -> Declaration:
    """The resident's live declaration for the year, created (with its case, prefilled from the
    register and the employers' reports) the first time.

    Residents start within the declaration period; a clerk (``filed_by``) at any time.
    """
    if resident is None or resident.status != "current":
        raise ValidationError(MSG_NO_RESIDENT)
    if filed_by is None and not season.declaration_season(timezone.localdate()).open:
        raise ValidationError(MSG_CLOSED)
    residenttax.rules_for(fiscal_year)
    existing = (
        Declaration.objects.select_for_update()
        .filter(resident=resident, fiscal_year=fiscal_year)
        .exclude(status__in=[Declaration.Status.WITHDRAWN, Declaration.Status.REJECTED])
        .first()
    )
    if existing is not None:
        return existing
    data = inputs.prefill_from_reports({}, _salary_reports(resident, fiscal_year))
    data.setdefault("family", {})["members"] = _register_family(resident, fiscal_year)
    procedure = casekinds.ensure_procedure(casekind.KIND)
    application = procedure_services.start_application(
        procedure=procedure, resident=resident, user=user, filed_by=filed_by
    )
    try:
        with transaction.atomic():
            return Declaration.objects.create(
                resident=resident, fiscal_year=fiscal_year, application=application, data=data
            )
    except IntegrityError:
        raise ValidationError(MSG_NOT_EDITABLE) from None


def _may_act(declaration: Declaration, actor) -> bool:
    application = declaration.application
    if actor is None or not actor.is_authenticated or application is None:
        return False
    if application.user_id == actor.pk:
        return True
    return application.filed_by_id is not None and is_staff_member(actor)


def _lock(declaration: Declaration) -> Declaration:
    return (
        Declaration.objects.select_for_update(of=("self",))
        .select_related("application", "resident")
        .get(pk=declaration.pk)
    )


@transaction.atomic
def save_topic(*, declaration: Declaration, topic: str, values: dict, actor) -> Declaration:
    """Store one page of the declaration (already checked by its form)."""
    if topic not in inputs.TOPICS:
        raise ValidationError(f"unknown topic {topic!r}")
    declaration = _lock(declaration)
    if not _may_act(declaration, actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    if declaration.status not in (Declaration.Status.DRAFT, Declaration.Status.RETURNED):
        raise ValidationError(MSG_NOT_EDITABLE)
    declaration.data = {**declaration.data, topic: values}
    declaration.save(update_fields=["data", "updated_at"])
    return declaration


def estimate(declaration: Declaration) -> tuple[residenttax.Declaration, residenttax.Assessment]:
    """What the module computes for the declaration as it stands (the live estimate, the
    confirmation page and the assessment use the same conversion)."""
    d = inputs.from_declaration(
        declaration.data,
        fiscal_year=declaration.fiscal_year,
        birth_date=declaration.resident.birth_date,
    )
    return d, residenttax.assess(d, **season.city_options())


def summary_text(declaration: Declaration, assessment: residenttax.Assessment) -> str:
    """The case's summary for the clerk's queue (Japanese: the case record is kept in Japanese)."""
    d = inputs.from_declaration(
        declaration.data,
        fiscal_year=declaration.fiscal_year,
        birth_date=declaration.resident.birth_date,
    )
    lines = [
        f"給与収入 {d.salary_revenue:,}円 / 公的年金等 {d.pension_revenue:,}円 / その他の所得 {d.other_income:,}円",
        f"社会保険料 {d.social_insurance:,}円 / 医療費 {d.medical_expenses:,}円 / 住宅ローン控除 {d.housing_loan_credit:,}円",
        f"配偶者 {'あり' if d.spouse else 'なし'} / 扶養親族 {len(d.dependants)}人",
        f"合計所得 {assessment.total_income:,}円 / 課税標準 {assessment.taxable:,}円 / 試算税額 {assessment.total:,}円",
    ]
    return "\n".join(lines)


@transaction.atomic
def submit_declaration(*, declaration: Declaration, actor) -> Declaration:
    """File the declaration: its case goes to the clerks' queue (or back after a correction)."""
    declaration = _lock(declaration)
    if not _may_act(declaration, actor):
        raise PermissionDenied(MSG_NOT_YOURS)
    if declaration.status not in (Declaration.Status.DRAFT, Declaration.Status.RETURNED):
        raise ValidationError(MSG_NOT_EDITABLE)
    filed_by_clerk = declaration.application.filed_by_id is not None
    if not filed_by_clerk and declaration.status == Declaration.Status.DRAFT:
        if not season.declaration_season(timezone.localdate()).open:
            raise ValidationError(MSG_CLOSED)
    _d, result = estimate(declaration)
    answers = {
        "fiscal_year": declaration.fiscal_year,
        "summary": summary_text(declaration, result),
        "estimate": result.total,
    }
    procedure_services.submit_application(
        application=declaration.application, actor=actor, answers=answers
    )
    declaration.refresh_from_db()
    if declaration.submitted_at is None:
        declaration.submitted_at = timezone.now()
        declaration.save(update_fields=["submitted_at", "updated_at"])
    return declaration


def case_moved(*, application, target: str) -> None:
    """procedures moved the declaration's case: the declaration follows (same transaction)."""
    status = _STATUS_FOR_CASE.get(target)
    if status is None:
        return
    Declaration.objects.filter(application=application).update(
        status=status, updated_at=timezone.now()
    )


@transaction.atomic
def correct_declaration(*, declaration: Declaration, topic: str, values: dict, reason: str, clerk):
    """A clerk's correction (a figure checked against a receipt, a dependant the register shows):
    kept with the reason and the values before and after; the next run assesses from it."""
    _require(clerk, "taxes.add_declarationcorrection")
    if not reason.strip():
        raise ValidationError({"reason": [MSG_REASON]})
    if topic not in inputs.TOPICS:
        raise ValidationError(f"unknown topic {topic!r}")
    declaration = _lock(declaration)
    if declaration.status not in Declaration.COUNTED:
        raise ValidationError(MSG_NOT_FILED)
    before = declaration.data.get(topic) or {}
    if before == values:
        return None
    correction = DeclarationCorrection.objects.create(
        declaration=declaration, clerk=clerk, reason=reason.strip(), before=before, after=values
    )
    declaration.data = {**declaration.data, topic: values}
    declaration.save(update_fields=["data", "updated_at"])
    audit.record(
        action="taxes.declaration_corrected",
        actor=clerk,
        obj=declaration,
        purpose=reason.strip(),
        details={"topic": topic},
    )
    return correction


# --- salary reports ----------------------------------------------------------------------------


# What a clerk reads about a salary-report line (the format module names the problem by key).
REPORT_PROBLEMS = {
    "no_resident": _("住民が見つかりません"),
    "ambiguous": _("同じ氏名・生年月日の住民が複数います"),
    "encoding": _("UTF-8 のCSVではありません"),
    "header": _("1行目は見出し行（employer_number,employer_name,…）です"),
    "columns": _("列の数が違います"),
    "digits": _("数字で書いてください"),
    "year": _("西暦の年で書いてください"),
    "resident_code": _("住民票コードは11桁の数字です"),
    "who": _("住民票コードか氏名（フリガナ）が必要です"),
    "money": _("金額は0以上の整数です"),
    "flag": _("0 か 1 です"),
    "disability": _("空欄、normal、special のどれかです"),
    "single_parent": _("空欄、mother、father のどれかです"),
    "collection": _("special か ordinary です"),
    "date": _("日付は YYYY-MM-DD で書いてください"),
    "member": _("カナ氏名:生年月日:所得[:障害] の形で書いてください"),
}


def report_error_message(error: salary_report.ReportError) -> str:
    problem = REPORT_PROBLEMS[error.key]
    if error.line_no and error.column:
        return gettext("%(line)s行目「%(column)s」: %(problem)s") % {
            "line": error.line_no,
            "column": error.column,
            "problem": problem,
        }
    if error.line_no:
        return gettext("%(line)s行目: %(problem)s") % {
            "line": error.line_no,
            "problem": problem,
        }
    return str(problem)


def _match_resident(record: salary_report.SalaryRecord):
    if record.resident_code:
        found = search_residents(record.resident_code, include_former=True, limit=2)
    else:
        found = search_residents(
            record.name_kana, birth_date=record.birth_date, include_former=True, limit=2
        )
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, "no_resident"
    return None, "ambiguous"


def import_salary_reports(*, data: bytes, file_name: str, actor) -> SalaryReportImport:
    """Import a CSV of 給与支払報告書 (layout: ``formats/salary_report.py``). The same file twice
    is one import; a later report for the same employee, employer and year replaces the earlier
    one (a corrected report, 訂正分). Lines that name nobody in the register are listed."""
    _require(actor, "taxes.add_salaryreportimport")
    digest = hashlib.sha256(data).hexdigest()
    existing = SalaryReportImport.objects.filter(sha256=digest).first()
    if existing is not None:
        return existing
    try:
        records = list(salary_report.parse(data))
    except salary_report.ReportError as exc:
        raise ValidationError({"file": [report_error_message(exc)]}) from None
    with transaction.atomic():
        batch = SalaryReportImport.objects.create(
            sha256=digest, file_name=file_name[:200], created_by=actor, line_count=len(records)
        )
        problems, imported = [], 0
        employers: dict[str, Employer] = {}
        for record in records:
            resident, problem = _match_resident(record)
            if resident is None:
                problems.append(
                    {"line": record.line_no, "reason": problem}
                )  # a REPORT_PROBLEMS key
                continue
            employer = employers.get(record.employer_number)
            if employer is None:
                employer, _created = Employer.objects.get_or_create(
                    number=record.employer_number, defaults={"name": record.employer_name}
                )
                employers[record.employer_number] = employer
            amounts = record.amounts
            SalaryReport.objects.update_or_create(
                employer=employer,
                income_year=record.income_year,
                resident=resident,
                defaults={
                    "payment": amounts["payment"],
                    "social_insurance": amounts["social_insurance"],
                    "life_insurance": {
                        target: amounts[source] for source, target in inputs.LIFE_FIELDS.items()
                    },
                    "earthquake_insurance": amounts["earthquake_insurance"],
                    "housing_loan_credit": amounts["housing_loan_credit"],
                    "spouse": record.spouse.as_dict() if record.spouse else None,
                    "dependants": [m.as_dict() for m in record.dependants],
                    "personal": {
                        "disability": record.disability,
                        "widow": record.widow,
                        "single_parent": record.single_parent,
                        "working_student": record.working_student,
                    },
                    "collection": record.collection,
                    "left_on": record.left_on,
                    "source": batch,
                    "line_no": record.line_no,
                },
            )
            imported += 1
        batch.imported_count = imported
        batch.problems = problems
        batch.save(update_fields=["imported_count", "problems"])
        audit.record(
            action="taxes.salary_reports_imported",
            actor=actor,
            obj=batch,
            details={"lines": len(records), "imported": imported},
        )
    return batch


# --- 特別徴収 → 普通徴収 -------------------------------------------------------------------------


STOP_REASONS = {
    "left_job": "退職・転職",
    "moved_out": "転出",
    "other": "その他",
}


@transaction.atomic
def stop_special_collection(
    *,
    resident,
    fiscal_year: int,
    months_deducted: int,
    reason: str,
    clerk,
    today: date | None = None,
) -> SpecialCollection:
    """The employer no longer deducts (退職, 転職, the employee left the city): the months not yet
    deducted are collected by 普通徴収 (地方税法321条の7), billed through payments."""
    from . import assessing

    _require(clerk, "taxes.change_specialcollection")
    if reason not in STOP_REASONS:
        raise ValidationError({"reason": [_("理由を選んでください。")]})
    if not 0 <= months_deducted <= 12:
        raise ValidationError({"months_deducted": [_("月数は0から12の数字で入力してください。")]})
    collection = (
        SpecialCollection.objects.select_for_update()
        .filter(resident=resident, fiscal_year=fiscal_year)
        .first()
    )
    if collection is None or collection.stopped_after is not None:
        raise ValidationError(_("この年度の特別徴収はありません（切替済みです）。"))
    remainder = sum(collection.months[months_deducted:])
    collection.stopped_after = months_deducted
    collection.stop_reason = STOP_REASONS[reason]
    collection.save(update_fields=["stopped_after", "stop_reason", "updated_at"])
    if remainder > 0:
        assessing.bill_moved_remainder(
            resident=resident,
            fiscal_year=fiscal_year,
            amount=remainder,
            actor=clerk,
            today=today or timezone.localdate(),
        )
    audit.record(
        action="taxes.special_collection_stopped",
        actor=clerk,
        obj=collection,
        purpose=STOP_REASONS[reason],
        details={"months_deducted": months_deducted, "remainder": remainder},
    )
    return collection
