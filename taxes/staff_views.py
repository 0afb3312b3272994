"""Staff pages (/staff/taxes/…, behind the staff door): assessments by status, a resident's
years, declarations and their corrections, runs, salary-report imports, employers' notices and
statistics. Every page that shows a person's tax data writes an audit row with its purpose."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cityhall import audit
from cityhall.roles import is_staff_member
from residents.selectors import get_resident

from . import assessing, charts, documents, labels, residenttax, season, selectors, services
from .forms import (
    CorrectionReasonForm,
    RunForm,
    SalaryReportUploadForm,
    StopSpecialForm,
    topic_form,
)
from .models import Assessment, AssessmentRun, Declaration, Employer, SalaryReportImport
from .views import TOPIC_ORDER, _pdf, _summary

PAGE_SIZE = 100


def _staff(request) -> None:
    if not is_staff_member(request.user):
        raise PermissionDenied


def _year(request) -> int:
    try:
        year = int(request.GET.get("fiscal_year") or 0)
    except ValueError:
        year = 0
    return year or season.declaration_season(timezone.localdate()).fiscal_year


def assessments(request):
    _staff(request)
    fiscal_year = _year(request)
    status = request.GET.get("status", "")
    method = request.GET.get("collection", "")
    corrected = request.GET.get("corrected") == "1"
    try:
        page = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        page = 1
    qs = selectors.assessment_list(
        fiscal_year=fiscal_year,
        status=status if status in labels.STATUS else "",
        collection=method if method in Assessment.Collection.values else "",
        corrected=corrected,
    )
    rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    audit.record(
        action="taxes.assessment_list_viewed",
        actor=request.user,
        object_type="taxes.Assessment",
        purpose="課税状況の確認",
        request=request,
        details={"fiscal_year": fiscal_year, "status": status, "page": page},
    )
    return render(
        request,
        "taxes/staff/assessments.html",
        {
            "rows": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "page": page,
            "fiscal_year": fiscal_year,
            "years": selectors.fiscal_years(),
            "status": status,
            "collection": method,
            "corrected": corrected,
            "statuses": labels.STATUS.items(),
            "collections": Assessment.Collection.choices,
            "counts": selectors.status_counts(fiscal_year),
            "status_labels": labels.STATUS,
        },
    )


def _assessment_rows(resident) -> list[dict]:
    out = []
    for a in selectors.assessments_of(resident):
        d = residenttax.declaration_from_dict(a.inputs)
        out.append(
            {
                "assessment": a,
                "status": labels.STATUS[a.status_key],
                "deductions": labels.deduction_rows(a.result["deduction_items"]),
                "exempt_reason": labels.EXEMPT_REASONS.get(a.result.get("exempt_reason", ""), ""),
                "inputs": d,
            }
        )
    return out


def resident(request, resident_id: int):
    _staff(request)
    person = get_resident(resident_id)
    if person is None:
        raise Http404
    audit.record(
        action="taxes.resident_viewed",
        actor=request.user,
        obj=person,
        purpose="個人住民税の課税状況の確認",
        request=request,
    )
    years = {}
    for row in _assessment_rows(person):
        years.setdefault(row["assessment"].fiscal_year, []).append(row)
    specials = {year: selectors.special_collection(person, year) for year in years}
    return render(
        request,
        "taxes/staff/resident.html",
        {
            "person": person,
            "years": sorted(years.items(), reverse=True),
            "specials": specials,
            "declarations": selectors.declarations_of(person),
            "stop_form": StopSpecialForm(),
        },
    )


@require_POST
def stop_special(request, resident_id: int, fiscal_year: int):
    _staff(request)
    person = get_resident(resident_id)
    if person is None:
        raise Http404
    form = StopSpecialForm(request.POST)
    if form.is_valid():
        try:
            services.stop_special_collection(
                resident=person,
                fiscal_year=fiscal_year,
                months_deducted=form.cleaned_data["months_deducted"],
                reason=form.cleaned_data["reason"],
                clerk=request.user,
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request, _("特別徴収を普通徴収に切り替え、残りを納付書で請求しました。")
            )
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("taxes:staff_resident", resident_id=resident_id)


def declaration(request, pk: int):
    _staff(request)
    item = get_object_or_404(Declaration.objects.select_related("application", "resident"), pk=pk)
    audit.record(
        action="taxes.declaration_viewed",
        actor=request.user,
        obj=item,
        purpose="住民税申告の審査",
        request=request,
    )
    return render(
        request,
        "taxes/staff/declaration.html",
        {
            "declaration": item,
            "summary": _summary(item),
            "corrections": item.corrections.select_related("clerk"),
            "topics": [(key, labels.TOPICS[key]) for key in TOPIC_ORDER],
            "attachments": item.application.attachments.all() if item.application else [],
            "correctable": item.status in Declaration.COUNTED,
        },
    )


def correct(request, pk: int, topic: str):
    _staff(request)
    if topic not in TOPIC_ORDER:
        raise Http404
    item = get_object_or_404(Declaration.objects.select_related("application", "resident"), pk=pk)
    if item.status not in Declaration.COUNTED:
        messages.error(request, _("提出されていない申告は修正できません。"))
        return redirect("taxes:staff_declaration", pk=pk)
    bound = request.method == "POST"
    form = topic_form(topic, item, request.POST if bound else None)
    reason = CorrectionReasonForm(request.POST if bound else None)
    if bound:
        form_ok = form.is_valid()
        reason_ok = reason.is_valid()
        if form_ok and reason_ok:
            try:
                services.correct_declaration(
                    declaration=item,
                    topic=topic,
                    values=form.values(),
                    reason=reason.cleaned_data["reason"],
                    clerk=request.user,
                )
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("申告を修正しました。再計算（更正）を実行すると税額に反映されます。"),
                )
                return redirect("taxes:staff_declaration", pk=pk)
    else:
        audit.record(
            action="taxes.declaration_viewed",
            actor=request.user,
            obj=item,
            purpose="住民税申告の修正",
            request=request,
        )
    errors = (form.error_summary() if bound else []) + [
        ("reason", message) for message in reason.errors.get("reason", [])
    ]
    return render(
        request,
        "taxes/staff/correct.html",
        {
            "declaration": item,
            "topic": topic,
            "topic_label": labels.TOPICS[topic],
            "form": form,
            "reason_form": reason,
            "errors": errors,
            "income_year": item.fiscal_year - 1,
        },
        status=400 if errors else 200,
    )


def notice_pdf(request, pk: int):
    _staff(request)
    assessment = get_object_or_404(Assessment.objects.select_related("resident"), pk=pk)
    audit.record(
        action="taxes.notice_printed",
        actor=request.user,
        obj=assessment,
        purpose="税額決定通知書の出力",
        request=request,
    )
    return _pdf(
        documents.notice_pdf(assessment),
        f"notice-{assessment.resident_id}-{assessment.fiscal_year}-v{assessment.version}.pdf",
    )


def runs(request):
    _staff(request)
    years = residenttax.known_fiscal_years()[::-1]
    can_run = request.user.has_perm("taxes.add_assessmentrun")
    form = RunForm(
        request.POST if request.method == "POST" else None,
        years=years,
        initial={"fiscal_year": _year(request), "token": uuid.uuid4().hex},
    )
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied
        if form.is_valid():
            c = form.cleaned_data
            run = assessing.submit_run(
                fiscal_year=c["fiscal_year"],
                kind=c["kind"],
                actor=request.user,
                params={"token": c["token"], "reason": c["reason"].strip()},
            )
            return redirect("taxes:staff_run", pk=run.pk)
    return render(
        request,
        "taxes/staff/runs.html",
        {
            "runs": selectors.recent_runs(),
            "form": form,
            "can_run": can_run,
            "errors": [(n, m) for n, errs in form.errors.items() for m in errs]
            if form.is_bound
            else [],
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def run(request, pk: int):
    _staff(request)
    item = get_object_or_404(AssessmentRun.objects.select_related("created_by"), pk=pk)
    if request.method == "POST":
        if not request.user.has_perm("taxes.add_assessmentrun"):
            raise PermissionDenied
        if item.state == AssessmentRun.State.FAILED:
            from .tasks import run_assessment

            run_assessment.delay(item.pk)
            messages.success(request, _("課税処理を再開しました。"))
        return redirect("taxes:staff_run", pk=pk)
    template = (
        "taxes/staff/_run_progress.html"
        if request.headers.get("HX-Request")
        else "taxes/staff/run.html"
    )
    return render(
        request,
        template,
        {"run": item, "can_resume": request.user.has_perm("taxes.add_assessmentrun")},
    )


def salary_reports(request):
    _staff(request)
    form = SalaryReportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = services.import_salary_reports(
                data=upload.read(), file_name=upload.name or "reports.csv", actor=request.user
            )
        except ValidationError as error:
            form.add_error("file", error.messages[0] if error.messages else str(error))
        else:
            messages.success(
                request,
                _("%(n)s件を取り込みました。") % {"n": batch.imported_count},
            )
            return redirect("taxes:staff_salary_reports")
    return render(
        request,
        "taxes/staff/salary_reports.html",
        {
            "form": form,
            "imports": [
                {
                    "item": item,
                    "problems": [
                        {
                            "line": p["line"],
                            "reason": services.REPORT_PROBLEMS.get(p["reason"], p["reason"]),
                        }
                        for p in item.problems
                    ],
                }
                for item in SalaryReportImport.objects.select_related("created_by")[:30]
            ],
            "errors": [(n, m) for n, errs in form.errors.items() for m in errs],
        },
        status=400 if form.errors else 200,
    )


def employers(request):
    _staff(request)
    fiscal_year = _year(request)
    return render(
        request,
        "taxes/staff/employers.html",
        {
            "employers": Employer.objects.order_by("number"),
            "fiscal_year": fiscal_year,
            "years": selectors.fiscal_years(),
        },
    )


def employer_notice(request, pk: int):
    _staff(request)
    employer = get_object_or_404(Employer, pk=pk)
    fiscal_year = _year(request)
    audit.record(
        action="taxes.special_notice_exported",
        actor=request.user,
        obj=employer,
        purpose="特別徴収税額の通知",
        request=request,
        details={"fiscal_year": fiscal_year},
    )
    response = HttpResponse(
        documents.special_notice_csv(employer, fiscal_year), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="special-{employer.number}-{fiscal_year}.csv"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


def statistics(request):
    _staff(request)
    fiscal_year = _year(request)
    stats = selectors.statistics(fiscal_year)
    for row in stats["brackets"]:
        row["label"] = charts.bracket_label(row["low"], row["high"])
    return render(
        request,
        "taxes/staff/statistics.html",
        {
            "fiscal_year": fiscal_year,
            "years": selectors.fiscal_years(),
            "stats": stats,
            "chart": charts.levy_by_bracket(stats["brackets"]),
        },
    )
