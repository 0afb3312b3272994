"""Pages: the resident's statement and payments, and the staff pages."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cityhall.audit import record_read
from residents.selectors import get_resident, resident_for_user

from . import documents, forms, online, selectors, services
from .models import (
    BatchRun,
    Charge,
    DebitAccount,
    Notice,
    Payment,
    StatementDocument,
    UnmatchedRecord,
)


def dashboard_panel(user) -> dict | None:
    resident = resident_for_user(user)
    if resident is None:
        return None
    rows = selectors.open_installments_for_resident(resident)
    balance = selectors.balance_for_resident(resident, rows=rows)
    return {**balance, "next_due": rows[0] if rows else None}


def _safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _allow_checkout(response: HttpResponse) -> HttpResponse:
    """A page whose form sends the payer on to the provider's checkout allows that origin as a
    form target (CSP form-action; browsers apply it to the redirect too)."""
    origin = online.checkout_origin()
    if origin:
        response._csp_update = {"form-action": [origin]}
    return response


def _resident_or_link(request: HttpRequest):
    resident = resident_for_user(request.user)
    if resident is None:
        raise Http404(_("住民記録と連携されていません。"))
    return resident


# --- resident: statement and payment ------------------------------------------------------------


@login_required
@never_cache
def statement(request: HttpRequest) -> HttpResponse:
    resident = resident_for_user(request.user)
    if resident is None:
        return redirect("residents:my_link")
    today = timezone.localdate()
    rows = selectors.open_installments_for_resident(resident, as_of=today)
    paid = [
        row
        for row in selectors.installments_for_resident(resident, as_of=today)
        if row["outstanding"] == 0
    ][-20:]
    return _allow_checkout(
        render(
            request,
            "payments/statement.html",
            {
                "rows": rows,
                "paid_rows": paid,
                "balance": selectors.balance_for_resident(resident, rows=rows),
                "today": today,
                "idempotency_key": uuid.uuid4().hex,
                **_documents(resident),
                "recent_payments": selectors.payments_for_resident(resident)[:10],
                "card_payment": online.card_payment_offered(),
                "provider_label": online.provider_label(),
            },
        )
    )


def _start(request: HttpRequest, resident, installment_ids: list[int], next_url: str):
    key = request.POST.get("idempotency_key") or None
    try:
        _payment, url = online.start_online_payment(
            payer=resident,
            installment_ids=installment_ids,
            return_url=next_url,
            idempotency_key=f"web:{request.user.pk}:{key}" if key else None,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(next_url)
    return redirect(url)


@login_required
@require_POST
def pay_selected(request: HttpRequest) -> HttpResponse:
    """Pay the installments ticked on the statement, or all open ones ("pay all")."""
    resident = _resident_or_link(request)
    if request.POST.get("all"):
        ids = [row["id"] for row in selectors.open_installments_for_resident(resident)]
    else:
        ids = [int(value) for value in request.POST.getlist("installment") if value.isdigit()]
    if not ids:
        messages.error(request, _("支払う期別を選んでください。"))
        return redirect("payments:statement")
    return _start(request, resident, ids, reverse("payments:statement"))


@login_required
@never_cache
def pay_charge(request: HttpRequest, charge_id: int) -> HttpResponse:
    """Pay one charge (e.g. an application fee) online; back to ``?next=`` afterwards."""
    resident = _resident_or_link(request)
    charge = get_object_or_404(
        Charge.objects.select_related("revenue"), pk=charge_id, payer=resident
    )
    next_url = _safe_next(request, reverse("payments:statement"))
    open_ids = list(
        charge.installments.filter(allocated__lt=F("amount")).values_list("pk", flat=True)
    )
    if not open_ids:
        messages.info(request, _("この請求はお支払い済みです。"))
        return redirect(next_url)
    if request.method == "POST":
        return _start(request, resident, open_ids, next_url)
    outstanding = charge.installments.aggregate(left=Sum(F("amount") - F("allocated")))["left"]
    return _allow_checkout(
        render(
            request,
            "payments/pay_charge.html",
            {
                "charge": charge,
                "revenue_name": charge.revenue.name_for(get_language()),
                "outstanding": outstanding,
                "next": next_url,
                "idempotency_key": uuid.uuid4().hex,
                "card_payment": online.card_payment_offered(),
            },
        )
    )


@login_required
@never_cache
def payment_return(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the payer back. It proves nothing by itself: we ask the provider
    about the payment (or the webhook has already told us) before saying it is paid."""
    resident = _resident_or_link(request)
    next_url = _safe_next(request, reverse("payments:statement"))
    payment_id = request.GET.get("payment", "")
    payment = (
        Payment.objects.filter(pk=int(payment_id), payer=resident).first()
        if payment_id.isdigit()
        else None
    )
    if payment is not None and request.GET.get("cancelled"):
        messages.info(
            request, _("お支払いを中止しました。未納のものは引き続きお支払いいただけます。")
        )
    elif payment is not None:
        payment = online.sync_with_provider(payment)
        if payment.state == Payment.State.CONFIRMED:
            messages.success(
                request,
                _("%(amount)s円のお支払いを受け付けました。") % {"amount": f"{payment.amount:,}"},
            )
        elif payment.state == Payment.State.FAILED:
            messages.error(request, _("お支払いができませんでした。別のカードでお試しください。"))
        elif payment.state == Payment.State.NEEDS_REVIEW:
            messages.info(
                request,
                _("お支払いを受け付けましたが、金額の確認が必要です。市から連絡いたします。"),
            )
        else:
            messages.info(request, _("お支払いを確認中です。しばらくしてから確認してください。"))
    return redirect(next_url)


@login_required
@require_POST
def statement_pdf_request(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_link(request)
    services_doc = documents.request_statement_pdf(resident=resident)
    # A flash message stays on the page while the list below it turns into a download link
    # (the list polls), so it says what stays true: the request was taken, the link comes below.
    messages.info(
        request,
        _(
            "納付書（PDF）の作成を受け付けました。できあがると、下の「納付書（PDF）」にダウンロードのリンクが出ます。"
        ),
    )
    return redirect(reverse("payments:statement") + f"#document-{services_doc.pk}")


@login_required
@never_cache
def statement_documents(request: HttpRequest) -> HttpResponse:
    """The statement page's list of PDFs; the page polls it while one is being made, so the
    download link appears by itself."""
    resident = _resident_or_link(request)
    return render(request, "payments/_statement_documents.html", _documents(resident))


def _documents(resident) -> dict:
    docs = list(StatementDocument.objects.filter(resident=resident).defer("pdf")[:3])
    pending = any(doc.state == StatementDocument.State.PENDING for doc in docs)
    return {"documents": docs, "documents_pending": pending}


@login_required
@never_cache
def statement_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _resident_or_link(request)
    document = get_object_or_404(
        StatementDocument, pk=pk, resident=resident, state=StatementDocument.State.READY
    )
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="statement-{document.as_of}.pdf"'
    return response


@login_required
@never_cache
def debit_account(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_link(request)
    current = DebitAccount.objects.filter(resident=resident, active=True).first()
    form = forms.DebitAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        from . import direct_debit

        try:
            direct_debit.register_account(resident=resident, **form.cleaned_data)
        except ValidationError as error:
            forms.apply_errors(form, error)
        else:
            messages.success(request, _("口座振替の申込みを受け付けました。"))
            return redirect("payments:debit_account")
    return render(request, "payments/debit_account.html", {"form": form, "current": current})


# --- staff --------------------------------------------------------------------------------------


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


@never_cache
def staff_arrears(request: HttpRequest) -> HttpResponse:
    _require(request, "payments.view_installment")
    rows = selectors.arrears_by_resident()
    record_read(
        request=request,
        action="payments.arrears_listed",
        object_type="residents.Resident",
        purpose=gettext_noop("滞納整理"),
    )
    return render(request, "payments/staff/arrears.html", {"rows": rows})


@never_cache
def staff_resident(request: HttpRequest, resident_id: int) -> HttpResponse:
    """One resident's bills across all revenues: arrears, notices, credits, payment plan."""
    _require(request, "payments.view_installment")
    resident = get_resident(resident_id)
    if resident is None:
        raise Http404
    from cityhall.audit import record

    record(
        action="payments.view_resident_ledger",
        actor=request.user,
        obj=resident,
        purpose=gettext_noop("滞納整理"),
        request=request,
    )
    plan_form = forms.PaymentPlanForm(request.POST or None, prefix="plan")
    counter_form = forms.CounterPaymentForm(
        request.POST or None, prefix="counter", initial={"idempotency_key": uuid.uuid4().hex}
    )
    if request.method == "POST":
        from . import arrears

        try:
            if "plan-monthly_amount" in request.POST and plan_form.is_valid():
                arrears.create_payment_plan(
                    resident=resident, clerk=request.user, **plan_form.cleaned_data
                )
                messages.success(request, _("分納誓約を記録しました。"))
                return redirect("payments:staff_resident", resident_id=resident.pk)
            if "counter-amount" in request.POST and counter_form.is_valid():
                payment = services.record_counter_payment(
                    payer=resident,
                    amount=counter_form.cleaned_data["amount"],
                    clerk=request.user,
                    idempotency_key=counter_form.cleaned_data["idempotency_key"],
                )
                messages.success(request, _("窓口収納を記録しました。"))
                return redirect("payments:staff_receipt", payment_id=payment.pk)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    open_rows = selectors.open_installments_for_resident(resident)
    return render(
        request,
        "payments/staff/resident.html",
        {
            "resident": resident,
            "arrears": selectors.arrears_for_resident(resident),
            "balance": selectors.balance_for_resident(resident, rows=open_rows),
            "open_rows": open_rows,
            "credits": selectors.credits_for_resident(resident),
            "charges": selectors.charges_for_resident(resident),
            "plans": resident.payment_plans.prefetch_related("entries").order_by("-id"),
            "plan_form": plan_form,
            "counter_form": counter_form,
            "payments": selectors.payments_for_resident(resident)[:20],
        },
    )


@never_cache
def staff_receipt(request: HttpRequest, payment_id: int) -> HttpResponse:
    _require(request, "payments.view_payment")
    payment = get_object_or_404(Payment, pk=payment_id)
    record_read(request=request, action="payments.receipt_viewed", obj=payment, purpose="領収")
    response = HttpResponse(documents.receipt_pdf(payment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.pk}.pdf"'
    return response


@never_cache
def staff_notice_pdf(request: HttpRequest, notice_id: int) -> HttpResponse:
    _require(request, "payments.view_notice")
    notice = get_object_or_404(Notice, pk=notice_id)
    record_read(
        request=request,
        action="payments.notice_viewed",
        obj=notice,
        purpose=gettext_noop("滞納整理"),
    )
    response = HttpResponse(documents.notice_pdf(notice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="notice-{notice.pk}.pdf"'
    return response


@never_cache
def staff_reconciliation(request: HttpRequest) -> HttpResponse:
    _require(request, "payments.view_allocation")
    return render(
        request, "payments/staff/reconciliation.html", {"report": selectors.reconciliation_report()}
    )


@never_cache
def staff_batches(request: HttpRequest) -> HttpResponse:
    _require(request, "payments.view_batchrun")
    upload = forms.BatchUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not request.user.has_perm("payments.add_batchrun"):
            raise PermissionDenied
        if upload.is_valid():
            from . import batches

            try:
                run = batches.submit(
                    kind=upload.cleaned_data["kind"],
                    data=upload.cleaned_data["file"].read() if upload.cleaned_data["file"] else b"",
                    params=upload.params(),
                    actor=request.user,
                )
            except ValidationError as error:
                forms.apply_errors(upload, error)
            else:
                messages.success(request, _("バッチを受け付けました。"))
                return redirect("payments:staff_batch", pk=run.pk)
    return render(
        request,
        "payments/staff/batches.html",
        {"runs": selectors.recent_batch_runs(), "form": upload},
    )


@never_cache
def staff_batch(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "payments.view_batchrun")
    run = get_object_or_404(BatchRun.objects.defer("output"), pk=pk)
    template = (
        "payments/staff/_batch_progress.html"
        if request.headers.get("HX-Request")
        else "payments/staff/batch.html"
    )
    return render(
        request,
        template,
        {
            "run": run,
            "unmatched": UnmatchedRecord.objects.filter(batch_run=run)[:200],
            "attempts": run.attempts.select_related("retried_by"),
            "can_retry": run.state == BatchRun.State.FAILED
            and request.user.has_perm("payments.change_batchrun"),
        },
    )


@require_POST
def staff_batch_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a failed batch again (a new attempt, same input, from its cursor)."""
    _require(request, "payments.change_batchrun")
    run = get_object_or_404(BatchRun.objects.defer("output"), pk=pk)
    from . import batches

    try:
        batches.retry(run_id=run.pk, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("バッチをもう一度実行します。"))
    return redirect("payments:staff_batch", pk=run.pk)


@never_cache
def staff_batch_output(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "payments.view_batchrun")
    run = get_object_or_404(BatchRun, pk=pk)
    if not run.output:
        raise Http404
    record_read(
        request=request, action="payments.batch_output_downloaded", obj=run, purpose="収納事務"
    )
    response = HttpResponse(bytes(run.output), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{run.output_name or run.pk}"'
    return response


def dashboard_fingerprint() -> str:
    """The rows the payments panel shows (cityhall.dashboard): the charges of the account's
    resident, their installments and allocations, the resident's credit, and the revenues'
    names. Money moved by a batch's SQL changes these rows as surely as a card payment does."""
    from cityhall.dashboard import fingerprint_of, rows_version
    from residents.models import Resident

    from .models import Allocation, Charge, Credit, Installment, Revenue

    residents = (
        f"SELECT id FROM {Resident._meta.db_table} WHERE user_id = %(user)s AND status = 'current'"
    )
    charges = f"SELECT id FROM {Charge._meta.db_table} WHERE payer_id IN ({residents})"
    installments = f"SELECT id FROM {Installment._meta.db_table} WHERE charge_id IN ({charges})"
    return fingerprint_of(
        rows_version(Charge._meta.db_table, f"t.id IN ({charges})"),
        rows_version(Installment._meta.db_table, f"t.id IN ({installments})"),
        rows_version(Allocation._meta.db_table, f"t.installment_id IN ({installments})"),
        rows_version(Credit._meta.db_table, f"t.resident_id IN ({residents})"),
        rows_version(Revenue._meta.db_table, "TRUE"),
    )
