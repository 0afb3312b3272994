"""Resident pages (/my/tax/: the declaration one topic per page, attachments, the live estimate,
the confirmation page, notices) and the public simulation (/tax/simulate/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from procedures import services as procedure_services
from procedures.forms import AttachmentForm
from residents.selectors import resident_for_user

from . import documents, labels, residenttax, season, selectors, services
from .forms import SimulationForm, topic_form
from .models import Assessment, Declaration
from .templatetags.taxes_format import format_yen

TOPIC_ORDER = ("income", "insurance", "family", "medical", "housing")
PAGES = (*TOPIC_ORDER, "attachments", "confirm")
ATTACHMENT_FIELDS = ("withholding_slip", "receipts")


def no_rules_message(error: residenttax.NoRulesForYear) -> str:
    return _(
        "%(year)s年度の税額を計算する規則はまだ登録されていません。申告はできます。税額は規則の登録後に計算します。"
    ) % {"year": error.fiscal_year}


def _season():
    return season.declaration_season(timezone.localdate())


def _steps(current: str) -> list[dict]:
    names = {**labels.TOPICS, "attachments": _("添付書類"), "confirm": _("確認")}
    return [
        {"key": key, "label": names[key], "number": i, "current": key == current}
        for i, key in enumerate(PAGES, start=1)
    ]


def _estimate_context(declaration: Declaration, data: dict | None = None) -> dict:
    """The estimate for the declaration (with ``data`` instead of what is stored, when given)."""
    if data is not None:
        declaration = Declaration(
            resident=declaration.resident, fiscal_year=declaration.fiscal_year, data=data
        )
    try:
        d, result = services.estimate(declaration)
    except residenttax.NoRulesForYear as error:
        return {"estimate_error": no_rules_message(error)}
    return {
        "estimate": result,
        "estimate_steps": labels.step_rows(residenttax.steps(d, result)),
        "estimate_deductions": labels.deduction_rows(result.deduction_items),
        "exempt_reason": labels.EXEMPT_REASONS.get(result.exempt_reason, ""),
    }


@login_required
def my_tax(request):
    resident = resident_for_user(request.user)
    current = _season()
    context = {
        "resident": resident,
        "season": current,
        "eltax_url": season.ELTAX_URL,
        "myna_url": season.MYNAPORTAL_URL,
    }
    if resident is not None:
        context["declaration"] = selectors.live_declaration(resident, current.fiscal_year)
        context["assessments"] = [a for a in selectors.assessments_of(resident) if a.is_current]
    return render(request, "taxes/my_tax.html", context)


@login_required
@require_POST
def start(request):
    resident = resident_for_user(request.user)
    if resident is None:
        return redirect("taxes:my_tax")
    try:
        declaration = services.start_declaration(
            resident=resident, user=request.user, fiscal_year=_season().fiscal_year
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("taxes:my_tax")
    return redirect("taxes:declaration_topic", pk=declaration.pk, topic="income")


def _own(request, pk: int) -> Declaration:
    """The user's own declaration, or 404 (others' declarations do not exist here)."""
    return get_object_or_404(
        Declaration.objects.select_related("application", "resident"),
        pk=pk,
        application__user=request.user,
    )


def _editable(declaration: Declaration) -> bool:
    return declaration.status in (Declaration.Status.DRAFT, Declaration.Status.RETURNED)


@login_required
def topic(request, pk: int, topic: str):
    if topic not in TOPIC_ORDER:
        raise Http404
    declaration = _own(request, pk)
    if not _editable(declaration):
        return redirect("taxes:declaration_confirm", pk=pk)
    index = TOPIC_ORDER.index(topic)
    form = topic_form(topic, declaration, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            services.save_topic(
                declaration=declaration, topic=topic, values=form.values(), actor=request.user
            )
            if "back" in request.POST and index > 0:
                return redirect("taxes:declaration_topic", pk=pk, topic=TOPIC_ORDER[index - 1])
            if index + 1 < len(TOPIC_ORDER):
                return redirect("taxes:declaration_topic", pk=pk, topic=TOPIC_ORDER[index + 1])
            return redirect("taxes:declaration_attachments", pk=pk)
    context = {
        "declaration": declaration,
        "topic": topic,
        "topic_label": labels.TOPICS[topic],
        "form": form,
        "errors": form.error_summary() if form.is_bound else [],
        "steps": _steps(topic),
        "previous": TOPIC_ORDER[index - 1] if index else None,
        "income_year": declaration.fiscal_year - 1,
    } | _estimate_context(declaration)
    return render(
        request,
        f"taxes/topic_{topic}.html",
        context,
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def estimate(request, pk: int, topic: str):
    """htmx: the estimate with the page's values as typed (nothing is saved)."""
    if topic not in TOPIC_ORDER:
        raise Http404
    declaration = _own(request, pk)
    form = topic_form(topic, declaration, request.POST)
    if not form.is_valid():
        return render(request, "taxes/_estimate.html", {"estimate_pending": True})
    data = {**declaration.data, topic: form.values()}
    return render(request, "taxes/_estimate.html", _estimate_context(declaration, data))


@login_required
def attachments(request, pk: int):
    declaration = _own(request, pk)
    application = declaration.application
    if request.method == "POST" and _editable(declaration):
        form = AttachmentForm(request.POST, request.FILES)
        if form.is_valid() and form.cleaned_data["field_id"] in ATTACHMENT_FIELDS:
            try:
                procedure_services.add_attachment(
                    application=application,
                    field_id=form.cleaned_data["field_id"],
                    upload=form.cleaned_data["file"],
                    actor=request.user,
                )
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                messages.success(request, _("ファイルを添付しました。"))
        else:
            messages.error(request, _("添付する書類の種類とファイルを選んでください。"))
        return redirect("taxes:declaration_attachments", pk=pk)
    return render(
        request,
        "taxes/attachments.html",
        {
            "declaration": declaration,
            "attachments": application.attachments.all(),
            "steps": _steps("attachments"),
            "editable": _editable(declaration),
            "kinds": [
                ("withholding_slip", _("源泉徴収票")),
                ("receipts", _("保険料・医療費などの証明書")),
            ],
        },
    )


@login_required
@require_POST
def attachment_delete(request, pk: int, attachment_id: int):
    declaration = _own(request, pk)
    attachment = get_object_or_404(declaration.application.attachments, pk=attachment_id)
    try:
        procedure_services.remove_attachment(attachment=attachment, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("添付を取り消しました。"))
    return redirect("taxes:declaration_attachments", pk=pk)


def _summary(declaration: Declaration) -> list[dict]:
    """Every topic as label/value rows for the confirmation page."""
    data = declaration.data
    out = []
    for topic_key in TOPIC_ORDER:
        form = topic_form(topic_key, declaration)
        rows = []
        if topic_key == "family":
            family = data.get("family") or {}
            for member in family.get("members") or []:
                if member.get("claim"):
                    rows.append(
                        {
                            "label": member.get("name") or "",
                            "value": f"{labels.CLAIMS[member['claim']]} · "
                            + _("合計所得 %(yen)s")
                            % {"yen": format_yen(member.get("income") or 0)},
                        }
                    )
            if family.get("single_parent"):
                rows.append(
                    {"label": _("ひとり親"), "value": labels.SINGLE_PARENT[family["single_parent"]]}
                )
            if family.get("widow"):
                rows.append({"label": _("寡婦"), "value": _("はい")})
            if family.get("disability"):
                rows.append(
                    {
                        "label": _("あなたの障害者控除"),
                        "value": labels.DISABILITIES[family["disability"]],
                    }
                )
            if family.get("working_student"):
                rows.append({"label": _("勤労学生"), "value": _("はい")})
            if not rows:
                rows.append({"label": _("控除する家族"), "value": _("なし")})
        else:
            values = data.get(topic_key) or {}
            for name, field in form.fields.items():
                rows.append({"label": field.label, "value": format_yen(values.get(name) or 0)})
        out.append({"topic": topic_key, "label": labels.TOPICS[topic_key], "rows": rows})
    return out


@login_required
def confirm(request, pk: int):
    declaration = _own(request, pk)
    if request.method == "POST":
        try:
            services.submit_declaration(declaration=declaration, actor=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("taxes:declaration_confirm", pk=pk)
        return redirect("taxes:declaration_done", pk=pk)
    return render(
        request,
        "taxes/confirm.html",
        {
            "declaration": declaration,
            "summary": _summary(declaration),
            "attachments": declaration.application.attachments.all(),
            "steps": _steps("confirm"),
            "editable": _editable(declaration),
        }
        | _estimate_context(declaration),
    )


@login_required
def done(request, pk: int):
    declaration = _own(request, pk)
    if declaration.status == Declaration.Status.DRAFT:
        return redirect("taxes:declaration_confirm", pk=pk)
    return render(request, "taxes/done.html", {"declaration": declaration})


@login_required
def notice_pdf(request, pk: int):
    resident = resident_for_user(request.user)
    assessment = get_object_or_404(Assessment, pk=pk, resident=resident)
    return _pdf(
        documents.notice_pdf(assessment),
        f"notice-{assessment.fiscal_year}-v{assessment.version}.pdf",
    )


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- the public simulation ---------------------------------------------------------------------


def _simulation_form(request):
    years = sorted(residenttax.known_fiscal_years(), reverse=True)
    return SimulationForm(
        request.POST if request.method == "POST" else None,
        years=years,
        initial={"fiscal_year": years[0], "age": 40},
    )


def _simulation_result(form: SimulationForm) -> dict:
    d = form.declaration()
    result = residenttax.assess(d, **season.city_options())
    return {
        "result": result,
        "result_steps": labels.step_rows(residenttax.steps(d, result)),
        "result_deductions": labels.deduction_rows(result.deduction_items),
        "exempt_reason": labels.EXEMPT_REASONS.get(result.exempt_reason, ""),
    }


def simulate(request):
    """Anyone may try: nothing typed here is stored or logged."""
    form = _simulation_form(request)
    context = {"form": form, "errors": []}
    if request.method == "POST":
        if form.is_valid():
            context |= _simulation_result(form)
        else:
            context["errors"] = [
                (name, f"{form.fields[name].label}: {message}" if name in form.fields else message)
                for name, errors in form.errors.items()
                for message in errors
            ]
    response = render(
        request, "taxes/simulate.html", context, status=400 if context["errors"] else 200
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def simulate_estimate(request):
    form = _simulation_form(request)
    if not form.is_valid():
        return render(request, "taxes/_simulation_result.html", {"pending": True})
    response = render(request, "taxes/_simulation_result.html", _simulation_result(form))
    response["Cache-Control"] = "no-store"
    return response
