"""Staff pages (/staff/…, behind the staff door): the case queue, a case, counter filing
(書かない窓口), and the form administration pages for admins."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cityhall import audit
from cityhall.roles import ADMIN, has_role, is_staff_member
from residents.selectors import get_resident, search_residents

from . import casekinds, selectors, services, workflow
from .certificates import recovery
from .forms import (
    CertificatePurposeForm,
    CommentForm,
    CounterStartForm,
    field_rows,
)
from .models import Application, Attachment, Procedure
from .views import render_application_form, save_posted_form, serve_certificate, serve_private

# The purposes a staff read is logged with (DESIGN.md §4), the API's too.
REVIEW_PURPOSE = "審査"
COUNTER_PURPOSE = "書かない窓口"


def _staff(request) -> None:
    if not is_staff_member(request.user):
        raise PermissionDenied


def _admin(request) -> None:
    if not has_role(request.user, ADMIN):
        raise PermissionDenied(_("様式を管理できるのは管理者だけです。"))


def case_queue(request):
    _staff(request)
    params = request.GET
    due_before = None
    if params.get("due_before"):
        try:
            due_before = date.fromisoformat(params["due_before"])
        except ValueError:
            messages.error(request, _("期限の日付を 2026-04-01 の形で入力してください。"))
    assignee = params.get("assignee", "")
    cases = selectors.case_queue(
        procedure=params.get("procedure", ""),
        state=params.get("state", "") if params.get("state") in workflow.STATES else "",
        due_before=due_before,
        assignee=request.user if assignee == "me" else None,
        unassigned=assignee == "none",
        needs_attention=params.get("attention") == "1",
    )[:200]
    today = timezone.localdate()
    rows = [{"case": c, "overdue": selectors.is_overdue(c, today)} for c in cases]
    audit.record_read(
        request=request,
        action="procedures.cases_listed",
        object_type="procedures.Application",
        purpose=REVIEW_PURPOSE,
        details={"applications": [row["case"].pk for row in rows]},
    )
    return render(
        request,
        "procedures/staff/case_queue.html",
        {
            "rows": rows,
            "procedures": Procedure.objects.order_by("name_ja"),
            "states": Application.State.choices,
            "params": params,
        },
    )


def _case(pk: int) -> Application:
    return get_object_or_404(
        Application.objects.select_related(
            "procedure", "form", "applicant__household__address", "assignee"
        ),
        pk=pk,
    )


def case_detail(request, pk: int):
    _staff(request)
    application = _case(pk)
    if request.method == "POST":
        action = request.POST.get("action", "")
        form = CommentForm(request.POST)
        form.is_valid()
        comment = form.cleaned_data.get("comment", "") if hasattr(form, "cleaned_data") else ""
        try:
            if action == "assign":
                services.assign(application=application, clerk=request.user)
                messages.success(request, _("担当になりました。"))
            elif action == "retry_certificate":
                recovery.retry_certificate(application=application, clerk=request.user)
                messages.success(request, _("証明書の発行をやり直します。"))
            elif action in workflow.STATES:
                services.decide(
                    application=application, target=action, clerk=request.user, comment=comment
                )
                messages.success(request, _("処理しました。"))
            else:
                raise Http404
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except workflow.TransitionNotAllowed as exc:
            messages.error(request, str(exc))
        return redirect("procedures:case_detail", pk=pk)
    audit.record_read(
        request=request, action="procedures.case_viewed", obj=application, purpose=REVIEW_PURPOSE
    )
    actions = [
        (target, workflow.action_label(target))
        for target in workflow.allowed_targets(application.state, workflow.CLERK)
    ]
    certificate = getattr(application, "certificate", None)
    kind = casekinds.for_application(application)
    return render(
        request,
        "procedures/staff/case_detail.html",
        {
            "application": application,
            "case_link": kind.staff_link(application) if kind else None,
            "answers": field_rows(
                application.form.definition,
                application.answers,
                staff=True,
                dynamic=selectors.dynamic_choices(
                    application.form.definition, application.applicant
                ),
            ),
            "attachments": application.attachments.all(),
            "events": application.events.select_related("actor"),
            "actions": actions,
            "comment_form": CommentForm(),
            "overdue": selectors.is_overdue(application),
            "certificate": certificate,
            "certificate_purpose_form": CertificatePurposeForm(),
            "can_reveal_mynumber": request.user.has_perm("residents.reveal_mynumber"),
            "can_retry_certificate": certificate is None
            and application.state == workflow.APPROVED
            and bool(application.procedure.certificate_kind),
        },
    )


def case_attachment(request, pk: int, attachment_id: int):
    _staff(request)
    attachment = get_object_or_404(Attachment, pk=attachment_id, application_id=pk)
    audit.record_read(
        request=request,
        action="procedures.attachment_viewed",
        obj=attachment,
        purpose=REVIEW_PURPOSE,
    )
    return serve_private(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )


def case_certificate(request, pk: int):
    """The issued certificate, downloaded for a purpose chosen first (written to the audit log);
    one that prints a My Number only for staff holding reveal_mynumber."""
    _staff(request)
    application = _case(pk)
    certificate = getattr(application, "certificate", None)
    if certificate is None:
        raise Http404
    form = CertificatePurposeForm(request.GET if "purpose" in request.GET else None)
    if certificate.shows_mynumber and not request.user.has_perm("residents.reveal_mynumber"):
        return render(
            request,
            "procedures/staff/certificate_refused.html",
            {"application": application, "message": services.MSG_CERTIFICATE_MYNUMBER},
            status=403,
        )
    if not form.is_valid():
        return render(
            request,
            "procedures/staff/certificate_purpose.html",
            {"application": application, "certificate": certificate, "form": form},
            status=400 if form.is_bound else 200,
        )
    pdf = services.read_certificate(
        certificate=certificate,
        reader=request.user,
        purpose=form.purpose_label(),
        request=request,
    )
    return serve_certificate(certificate, pdf)


# --- counter filing (書かない窓口) ---------------------------------------------------------------


def counter_start(request):
    """Find the walk-in resident, choose the procedure: the application is prefilled from the
    records, the clerk completes it, the resident confirms it on the counter screen.

    `?resident=<id>` (the counter's resident view links so) preselects the resident."""
    return _counter_start(request, resident_id=request.GET.get("resident"))


def counter_certificate(request, resident_id: int):
    """Counter filing of a certificate (住民票の写し, 印鑑登録証明書, 課税証明書) for a resident the
    clerk has already found: only the procedures that issue a certificate are offered."""
    return _counter_start(request, resident_id=resident_id, certificates_only=True)


def _counter_start(request, *, resident_id=None, certificates_only: bool = False):
    _staff(request)
    procedures = Procedure.objects.filter(is_active=True).order_by("name_ja")
    if certificates_only:
        procedures = procedures.exclude(certificate_kind="")
    if request.method == "POST":
        resident = get_resident(request.POST.get("resident"))
        procedure = procedures.filter(slug=request.POST.get("procedure")).first()
        if resident is None or procedure is None:
            messages.error(request, _("住民と手続を選んでください。"))
            return redirect(request.get_full_path())
        try:
            application = services.start_application(
                procedure=procedure, resident=resident, user=resident.user, filed_by=request.user
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect(request.get_full_path())
        audit.record(
            action="procedures.counter_started",
            obj=application,
            purpose=COUNTER_PURPOSE,
            request=request,
        )
        return redirect("procedures:counter_edit", pk=application.pk)
    chosen = get_resident(resident_id) if resident_id else None
    if chosen is not None and chosen.status != "current":
        messages.error(request, _("この方は現在の住民ではないため、申請を作成できません。"))
        chosen = None
    form = CounterStartForm(request.GET if "query" in request.GET else None)
    found = [chosen] if chosen is not None else []
    if form.is_valid():
        found = search_residents(
            form.cleaned_data["query"], birth_date=form.cleaned_data["birth_date"], limit=20
        )
    if found:
        audit.record_read(
            request=request,
            action="procedures.counter_residents_shown",
            object_type="residents.Resident",
            purpose=COUNTER_PURPOSE,
            details={"residents": [r.pk for r in found]},
        )
    return render(
        request,
        "procedures/staff/counter_start.html",
        {
            "form": form,
            "found": found,
            "chosen": chosen,
            "procedures": procedures,
            "certificates_only": certificates_only,
        },
    )


def _counter_application(pk: int) -> Application:
    application = _case(pk)
    if not application.is_counter_filing:
        raise Http404
    return application


def counter_edit(request, pk: int):
    _staff(request)
    application = _counter_application(pk)
    if application.state != workflow.DRAFT:
        return redirect("procedures:case_detail", pk=pk)
    if request.method == "POST":
        upload_errors = save_posted_form(request, application, staff=True)
        _cleaned, errors = services.check_answers(
            application=application, answers=application.answers, staff=True
        )
        for fid, msgs in upload_errors.items():
            errors.setdefault(fid, []).extend(msgs)
        if errors or "remove_attachment" in request.POST:
            _record_counter_read(request, application)
            return render_application_form(
                request,
                application,
                errors=errors,
                staff=True,
                template="procedures/staff/counter_edit.html",
            )
        return redirect("procedures:counter_confirm", pk=pk)
    _record_counter_read(request, application)
    return render_application_form(
        request, application, staff=True, template="procedures/staff/counter_edit.html"
    )


def _record_counter_read(request, application: Application) -> None:
    audit.record_read(
        request=request,
        action="procedures.counter_filing_viewed",
        obj=application,
        purpose=COUNTER_PURPOSE,
    )


def counter_confirm(request, pk: int):
    """The counter screen the clerk turns to the resident: read, then confirm."""
    _staff(request)
    application = _counter_application(pk)
    if request.method == "POST" and application.state == workflow.DRAFT:
        try:
            services.confirm_at_counter(application=application, clerk=request.user)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            _record_counter_read(request, application)
            return render_application_form(
                request,
                application,
                errors=errors,
                staff=True,
                template="procedures/staff/counter_edit.html",
            )
        messages.success(request, _("申請を受け付けました。"))
        return redirect("procedures:case_detail", pk=pk)
    _record_counter_read(request, application)
    return render(
        request,
        "procedures/staff/counter_confirm.html",
        {
            "application": application,
            "rows": field_rows(
                application.form.definition,
                application.answers,
                staff=False,
                dynamic=selectors.dynamic_choices(
                    application.form.definition, application.applicant
                ),
            ),
        },
    )


# --- form administration ------------------------------------------------------------------------


def admin_procedures(request):
    _admin(request)
    procedures = Procedure.objects.prefetch_related("forms").order_by("department", "name_ja")
    return render(request, "procedures/staff/admin_procedures.html", {"procedures": procedures})


@require_POST
def admin_identity_level(request, slug: str):
    """The form designer sets what a resident must show to file the procedure online."""
    _admin(request)
    procedure = get_object_or_404(Procedure, slug=slug)
    try:
        services.set_identity_level(
            procedure=procedure, level=request.POST.get("identity_level", ""), actor=request.user
        )
    except ValidationError as exc:
        from .designer_views import overview

        return overview(request, slug, level_error=" ".join(exc.messages), status=400)
    messages.success(request, _("オンライン申請に必要な本人確認を変更しました。"))
    return redirect("procedures:admin_procedure", slug=slug)
