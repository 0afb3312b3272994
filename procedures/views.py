"""Portal pages: find a procedure, fill and follow an application, download the certificate,
and the public certificate check /verify/<code>."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cityhall.pagecache import anonymous_page_cache
from residents.selectors import resident_for_user

from . import casekinds, formschema, selectors, services, signing, workflow
from .forms import (
    AttachmentForm,
    SearchForm,
    VerifyForm,
    answers_from_post,
    error_summary,
    field_rows,
    uploads_from_request,
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


@anonymous_page_cache(600, version=selectors.catalogue_version)
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
            # Read only when the cached fragment is missing (the template calls it).
            "groups": (lambda: []) if searched else selectors.catalogue_by_department,
            "catalogue_version": selectors.catalogue_version(),
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
        # The message links the page it speaks of, so the resident can act on it at once.
        messages.error(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                _("住民の記録と連携したアカウントだけが申請できます。"),
                reverse("residents:my_link"),
                _("郵送された登録コードで住民情報と連携する"),
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


# While a certificate request is with the city the page asks every so often whether the
# certificate is out; once approved, the worker renders it within seconds, so it asks often.
_POLL_SECONDS = {workflow.APPROVED: 3, workflow.IN_REVIEW: 15, workflow.RESUBMITTED: 15}


def _certificate_context(application: Application) -> dict:
    certificate = getattr(application, "certificate", None)
    issues_one = bool(application.procedure.certificate_kind)
    return {
        "application": application,
        "certificate": certificate,
        "waiting_for_certificate": certificate is None
        and issues_one
        and application.state == workflow.APPROVED,
        "poll_every": _POLL_SECONDS.get(application.state, 0)
        if certificate is None and issues_one
        else 0,
        "can_withdraw": workflow.WITHDRAWN
        in workflow.allowed_targets(application.state, workflow.APPLICANT),
    }


@login_required
def certificate_status(request, pk: int):
    """The certificate part of the application page; the page polls it while the worker renders
    the PDF, so the download button appears by itself."""
    application = _own_application(request, pk)
    return render(
        request,
        "procedures/_certificate_status.html",
        _certificate_context(application) | {"oob": True},
    )


@login_required
def application_detail(request, pk: int):
    application = _own_application(request, pk)
    return render(
        request,
        "procedures/application_detail.html",
        _certificate_context(application)
        | {
            "events": selectors.visible_events(application),
            "pay_url": _pay_url(application, request.path),
            "editable": application.state in (workflow.DRAFT, workflow.CORRECTION_REQUESTED),
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
    request, application, *, errors=None, template, staff=False, extra=None, page_id=""
):
    """The form, or one page of it (`page_id`, for a form of several pages filed online)."""
    definition = application.form.definition
    rows = field_rows(
        definition,
        application.answers,
        errors,
        staff=staff,
        dynamic=selectors.dynamic_choices(definition, application.applicant),
        attachments=list(application.attachments.all()),
    )
    paging = {}
    if page_id:
        on_page = {f["id"] for f in formschema.page_fields(definition, page_id, staff=staff)}
        rows = [row for row in rows if row["id"] in on_page]
        paging = _paging(application, page_id)
        errors = {fid: msgs for fid, msgs in (errors or {}).items() if fid in on_page}
    context = {
        "application": application,
        "rows": rows,
        "errors": error_summary(errors or {}, rows),
        "attachment_form": AttachmentForm(),
        "paging": paging,
    } | (extra or {})
    return render(request, template, context, status=400 if errors else 200)


def _paging(application, page_id: str) -> dict:
    """Where a page is on the resident's way through the form (routes followed)."""
    definition = application.form.definition
    path = formschema.page_path(definition, application.answers)
    position = path.index(page_id) if page_id in path else 0
    page = next(p for p in formschema.pages_of(definition) if p["id"] == page_id)
    lang = "en" if (translation.get_language() or "ja").startswith("en") else "ja"
    return {
        "page_id": page_id,
        "number": position + 1,
        "count": len(path),
        "title": formschema.label(page.get("title"), lang),
        "back": path[position - 1] if position > 0 else "",
        "last": position == len(path) - 1,
    }


def _errors_of(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def save_posted_form(
    request, application, *, staff: bool = False, page_id: str = ""
) -> dict[str, list[str]]:
    """Store every posted answer and every chosen file before anything is checked, so that an
    invalid field never costs the person what they typed or the file they picked (the draft is
    saved first). Returns the messages of refused files. With `page_id` only that page's
    answers are taken (the other pages keep theirs)."""
    definition = application.form.definition
    posted = (
        {"fields": formschema.page_fields(definition, page_id, staff=staff)}
        if page_id
        else definition
    )
    upload_errors = services.save_draft_with_files(
        application=application,
        answers=answers_from_post(posted, request.POST, staff=staff),
        actor=request.user,
        uploads=uploads_from_request(posted, request.FILES, staff=staff),
        remove_attachment_ids=[
            int(v) for v in request.POST.getlist("remove_attachment") if v.isdigit()
        ],
    )
    application.refresh_from_db()
    return upload_errors


def _multi_page(application) -> bool:
    return len(formschema.pages_of(application.form.definition)) > 1


def page_of(application, field_id: str) -> str:
    """The page a question is on ("" for a form of one page)."""
    if not _multi_page(application):
        return ""
    return formschema.page_of_field(application.form.definition).get(field_id, "")


@login_required
def application_edit(request, pk: int):
    """The form. "Check your answers" saves everything posted, then shows the errors beside their
    fields (values kept) or moves on to the confirmation page (確認画面); nothing is submitted
    from here. A form of several pages goes page by page ("次へ"), following its routes."""
    application = _own_application(request, pk)
    kind = casekinds.for_application(application)
    if kind is not None:
        return redirect(kind.resident_url(application))
    if application.state not in (workflow.DRAFT, workflow.CORRECTION_REQUESTED):
        return redirect("procedures:application_detail", pk=pk)
    template = "procedures/application_form.html"
    page_id = ""
    if _multi_page(application):
        path = formschema.page_path(application.form.definition, application.answers)
        page_id = request.POST.get("page") or request.GET.get("page") or path[0]
        if page_id not in {p["id"] for p in formschema.pages_of(application.form.definition)}:
            raise Http404
    if request.method == "POST":
        upload_errors = save_posted_form(request, application, page_id=page_id)
        if "check" in request.POST or "submit" in request.POST or "next" in request.POST:
            _cleaned, errors = services.check_answers(
                application=application, answers=application.answers
            )
            for fid, msgs in upload_errors.items():
                errors.setdefault(fid, []).extend(msgs)
            if page_id:
                on_page = {
                    f["id"]
                    for f in formschema.page_fields(
                        application.form.definition, page_id, staff=False
                    )
                }
                errors = {fid: msgs for fid, msgs in errors.items() if fid in on_page}
            if errors:
                return render_application_form(
                    request, application, errors=errors, template=template, page_id=page_id
                )
            if page_id:
                path = formschema.page_path(application.form.definition, application.answers)
                following = path[path.index(page_id) + 1 :] if page_id in path else []
                if following:
                    url = reverse("procedures:application_edit", args=[pk])
                    return redirect(f"{url}?page={following[0]}")
            return redirect("procedures:application_confirm", pk=pk)
        if upload_errors:
            return render_application_form(
                request, application, errors=upload_errors, template=template, page_id=page_id
            )
        if "save" in request.POST:
            messages.success(request, _("下書きを保存しました。あとで続きから入力できます。"))
        url = reverse("procedures:application_edit", args=[pk])
        return redirect(f"{url}?page={page_id}" if page_id else url)
    return render_application_form(request, application, template=template, page_id=page_id)


@login_required
def application_confirm(request, pk: int):
    """確認画面: every answer and file as it will be filed, the fee, and the one button that
    submits. Going back keeps everything (it is all in the draft)."""
    application = _own_application(request, pk)
    if application.state not in (workflow.DRAFT, workflow.CORRECTION_REQUESTED):
        return redirect("procedures:application_detail", pk=pk)
    definition = application.form.definition
    if request.method == "POST":
        # A procedure of identity level jpki goes to the signing step; the signature submits it.
        if (signing_step := signing.submit_or_sign(request, application)) is not None:
            return signing_step
        try:
            services.submit_application(application=application, actor=request.user)
        except ValidationError as exc:
            application.refresh_from_db()
            errors = _errors_of(exc)
            return render_application_form(
                request,
                application,
                errors=errors,
                template="procedures/application_form.html",
                page_id=_first_page_with(application, errors),
            )
        messages.success(request, _("申請しました。"))
        return redirect("procedures:application_detail", pk=pk)
    _cleaned, errors = services.check_answers(application=application, answers=application.answers)
    if errors:
        return render_application_form(
            request,
            application,
            errors=errors,
            template="procedures/application_form.html",
            page_id=_first_page_with(application, errors),
        )
    rows = field_rows(
        definition,
        application.answers,
        dynamic=selectors.dynamic_choices(definition, application.applicant),
        attachments=list(application.attachments.all()),
    )
    return render(
        request,
        "procedures/application_confirm.html",
        {
            "application": application,
            "rows": rows,
            "fee": application.procedure.fee(definition, application.answers),
        },
    )


def _first_page_with(application, errors: dict) -> str:
    """The first page on the way that has an error ("" for a form of one page)."""
    if not _multi_page(application):
        return ""
    definition = application.form.definition
    pages = formschema.page_of_field(definition)
    path = formschema.page_path(definition, application.answers)
    with_errors = {pages.get(fid) for fid in errors}
    return next((p for p in path if p in with_errors), path[0])


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
def application_withdraw(request, pk: int):
    """Asks first (GET: what withdrawing means, for the fee too), withdraws on POST."""
    application = _own_application(request, pk)
    if request.method == "POST":
        try:
            services.withdraw(
                application=application,
                actor=request.user,
                comment=request.POST.get("comment", "")[:2000],
            )
        except (ValidationError, ValueError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("申請を取り下げました。"))
        return redirect("procedures:application_detail", pk=pk)
    if workflow.WITHDRAWN not in workflow.allowed_targets(application.state, workflow.APPLICANT):
        return redirect("procedures:application_detail", pk=pk)
    return render(
        request,
        "procedures/application_withdraw.html",
        {"application": application, "fee_paid": selectors.fee_paid(application)},
    )


def serve_certificate(certificate, pdf: bytes) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{certificate.issue_number}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def certificate_download(request, pk: int):
    application = _own_application(request, pk)
    certificate = getattr(application, "certificate", None)
    if certificate is None:
        raise Http404
    pdf = services.read_certificate(
        certificate=certificate, reader=request.user, purpose="", request=request
    )
    return serve_certificate(certificate, pdf)


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


def dashboard_fingerprint() -> str:
    """The rows the procedures panel shows (cityhall.dashboard): the account's applications,
    their certificates and the procedures' names."""
    from cityhall.dashboard import fingerprint_of, rows_version

    from .models import Application, Certificate, Procedure

    mine = f"SELECT id FROM {Application._meta.db_table} WHERE user_id = %(user)s"
    return fingerprint_of(
        rows_version(Application._meta.db_table, "t.user_id = %(user)s"),
        rows_version(Certificate._meta.db_table, f"t.application_id IN ({mine})"),
        rows_version(
            Procedure._meta.db_table,
            f"t.id IN (SELECT procedure_id FROM {Application._meta.db_table}"
            " WHERE user_id = %(user)s)",
        ),
    )
