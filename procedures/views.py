"""Portal pages: find a procedure, fill and follow an application, download the certificate,
and the public certificate check /verify/<code>."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from residents.selectors import resident_for_user

from . import selectors, services, signing, workflow
from .forms import (
    AttachmentForm,
    SearchForm,
    VerifyForm,
    answers_from_post,
    error_summary,
    field_rows,
)
from .models import Application, Attachment, LifeEvent, Procedure

# What the resident does next, by state (the panel's wording lives in its template).
_NEXT_STEP = {
    workflow.DRAFT: "continue",
    workflow.AWAITING_PAYMENT: "pay",
    workflow.CORRECTION_REQUESTED: "correct",
    workflow.SUBMITTED: "wait",
    workflow.IN_REVIEW: "wait",
    workflow.RESUBMITTED: "wait",
    workflow.APPROVED: "issuing",
}
RECENT_CERTIFICATE_DAYS = 30


def _next_step(application: Application) -> dict:
    step = _NEXT_STEP.get(application.state, "wait")
    detail = reverse("procedures:application_detail", args=[application.pk])
    url = detail
    if step in ("continue", "correct"):
        url = reverse("procedures:application_edit", args=[application.pk])
    elif step == "pay":
        url = _pay_url(application, detail) or detail
    return {"application": application, "step": step, "url": url}


def dashboard_panel(user) -> dict | None:
    """The resident's own open applications on /my/, each with what to do next, and the
    certificates issued in the last days, ready to download."""
    if not user.is_authenticated:
        return None
    mine = selectors.applications_of_user(user)
    open_apps = list(mine.exclude(state__in=workflow.FINAL_STATES).order_by("-created_at")[:10])
    since = timezone.now() - timedelta(days=RECENT_CERTIFICATE_DAYS)
    ready = list(
        mine.filter(state=workflow.COMPLETED, certificate__issued_at__gte=since)
        .select_related("certificate")
        .order_by("-certificate__issued_at")[:5]
    )
    return {"applications": [_next_step(a) for a in open_apps], "certificates": ready}


def catalogue(request):
    form = SearchForm(request.GET or None)
    query = life_event = ""
    if form.is_valid():
        query = form.cleaned_data["q"]
        life_event = form.cleaned_data["life_event"]
    searched = bool(query or life_event)
    procedures = selectors.search_procedures(query, life_event=life_event) if searched else None
    return render(
        request,
        "procedures/catalogue.html",
        {
            "form": form,
            "procedures": procedures,
            "query": query,
            "life_events": LifeEvent.choices,
            "searched": searched,
        },
    )


def life_event(request, event: str):
    if event not in LifeEvent.values:
        raise Http404
    procedures = selectors.search_procedures("", life_event=event)
    return render(
        request,
        "procedures/life_event.html",
        {"event": event, "event_label": LifeEvent(event).label, "procedures": procedures},
    )


def procedure_detail(request, slug: str):
    procedure = get_object_or_404(Procedure, slug=slug, is_active=True)
    return render(
        request,
        "procedures/procedure_detail.html",
        {"procedure": procedure, "form_version": selectors.published_form(procedure)},
    )


@login_required
@require_POST
def start(request, slug: str):
    procedure = get_object_or_404(Procedure, slug=slug, is_active=True)
    resident = resident_for_user(request.user)
    if resident is None:
        messages.error(
            request,
            _(
                "住民の記録と結び付いたアカウントだけが申請できます。マイページで利用者登録をしてください。"
            ),
        )
        return redirect("procedures:procedure_detail", slug=slug)
    try:
        application = services.start_application(
            procedure=procedure, resident=resident, user=request.user
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("procedures:procedure_detail", slug=slug)
    return redirect("procedures:application_edit", pk=application.pk)


def _own_application(request, pk: int) -> Application:
    """The user's own application, or 404 (never 403: others' applications do not exist here)."""
    return get_object_or_404(
        Application.objects.select_related("procedure", "form", "applicant__household__address"),
        pk=pk,
        user=request.user,
    )


@login_required
def my_applications(request):
    applications = selectors.applications_of_user(request.user)
    return render(request, "procedures/my_applications.html", {"applications": applications})


def _pay_url(application: Application, next_path: str) -> str:
    """payments' page for the fee charge, coming back to `next_path`; "" when nothing to pay."""
    if application.state != workflow.AWAITING_PAYMENT or application.charge_id is None:
        return ""
    try:
        url = reverse("payments:pay_charge", kwargs={"charge_id": application.charge_id})
    except NoReverseMatch:
        return ""
    return f"{url}?next={next_path}"


@login_required
def application_detail(request, pk: int):
    application = _own_application(request, pk)
    certificate = getattr(application, "certificate", None)
    return render(
        request,
        "procedures/application_detail.html",
        {
            "application": application,
            "events": selectors.visible_events(application),
            "certificate": certificate,
            "pay_url": _pay_url(application, request.path),
            "editable": application.state in (workflow.DRAFT, workflow.CORRECTION_REQUESTED),
            "can_withdraw": bool(
                workflow.allowed_targets(application.state, workflow.APPLICANT)
                and workflow.WITHDRAWN
                in workflow.allowed_targets(application.state, workflow.APPLICANT)
            ),
            "answers": field_rows(
                application.form.definition,
                application.answers,
                dynamic=selectors.dynamic_choices(
                    application.form.definition, application.applicant
                ),
            ),
        },
    )


def render_application_form(
    request, application, *, errors=None, template, staff=False, extra=None
):
    definition = application.form.definition
    rows = field_rows(
        definition,
        application.answers,
        errors,
        staff=staff,
        dynamic=selectors.dynamic_choices(definition, application.applicant),
        attachments=list(application.attachments.all()),
    )
    context = {
        "application": application,
        "rows": rows,
        "errors": error_summary(errors or {}),
        "attachment_form": AttachmentForm(),
    } | (extra or {})
    return render(request, template, context, status=400 if errors else 200)


@login_required
def application_edit(request, pk: int):
    application = _own_application(request, pk)
    if application.state not in (workflow.DRAFT, workflow.CORRECTION_REQUESTED):
        return redirect("procedures:application_detail", pk=pk)
    if request.method == "POST":
        answers = answers_from_post(application.form.definition, request.POST)
        if "submit" in request.POST:
            if (signing_step := signing.submit_or_sign(request, application, answers)) is not None:
                return signing_step
            try:
                services.submit_application(
                    application=application, actor=request.user, answers=answers
                )
            except ValidationError as exc:
                application.refresh_from_db()
                errors = (
                    exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
                )
                return render_application_form(
                    request, application, errors=errors, template="procedures/application_form.html"
                )
            messages.success(request, _("申請しました。"))
            return redirect("procedures:application_detail", pk=pk)
        services.save_draft(application=application, answers=answers, actor=request.user)
        messages.success(request, _("下書きを保存しました。あとで続きから入力できます。"))
        return redirect("procedures:application_edit", pk=pk)
    return render_application_form(
        request, application, template="procedures/application_form.html"
    )


@login_required
@require_POST
def attachment_upload(request, pk: int):
    application = _own_application(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("ファイルを選んでください。"))
        return redirect("procedures:application_edit", pk=pk)
    try:
        services.add_attachment(
            application=application,
            field_id=form.cleaned_data["field_id"],
            upload=form.cleaned_data["file"],
            actor=request.user,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("ファイルを添付しました。"))
    return redirect("procedures:application_edit", pk=pk)


@login_required
@require_POST
def attachment_delete(request, pk: int, attachment_id: int):
    application = _own_application(request, pk)
    attachment = get_object_or_404(Attachment, pk=attachment_id, application=application)
    try:
        services.remove_attachment(attachment=attachment, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    return redirect("procedures:application_edit", pk=pk)


def serve_private(
    file_field, *, filename: str, content_type: str, inline: bool = False
) -> FileResponse:
    response = FileResponse(
        file_field.open("rb"),
        content_type=content_type,
        as_attachment=not inline,
        filename=filename,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def attachment_download(request, pk: int, attachment_id: int):
    application = _own_application(request, pk)
    attachment = get_object_or_404(Attachment, pk=attachment_id, application=application)
    return serve_private(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )


@login_required
@require_POST
def application_withdraw(request, pk: int):
    application = _own_application(request, pk)
    try:
        services.withdraw(
            application=application, actor=request.user, comment=request.POST.get("comment", "")
        )
    except (ValidationError, ValueError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("申請を取り下げました。"))
    return redirect("procedures:application_detail", pk=pk)


@login_required
def certificate_download(request, pk: int):
    application = _own_application(request, pk)
    certificate = getattr(application, "certificate", None)
    if certificate is None:
        raise Http404
    return serve_private(
        certificate.file, filename=f"{certificate.issue_number}.pdf", content_type="application/pdf"
    )


def verify_lookup(request):
    form = VerifyForm(request.GET or None)
    if form.is_valid():
        return redirect(
            "procedures:verify", code=selectors.normalise_code(form.cleaned_data["code"]) or "-"
        )
    return render(request, "procedures/verify.html", {"form": form, "looked_up": False})


def verify(request, code: str):
    certificate = selectors.certificate_by_code(code)
    return render(
        request,
        "procedures/verify.html",
        {
            "form": VerifyForm(initial={"code": code}),
            "looked_up": True,
            "certificate": certificate,
            "code": code,
        },
        status=200 if certificate else 404,
    )
