"""Staff pages that move money: correct a charge (更正), apply a credit (充当), refund it (還付),
decide the requests that need a second person, and settle payments held for review.

Each change is a form, then a confirmation page (確認画面), then the service; the services and
``payments.approvals`` hold the rules (four eyes above the threshold, separation of duties), the
pages only show them. Every page that shows a resident's money writes an audit row.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from cityhall.audit import record, record_read

from . import approvals, forms, selectors, services
from .models import Approval, Charge, Credit, Installment, Payment
from .providers import registry


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _audit(request: HttpRequest, resident, action: str, purpose: str) -> None:
    if resident is not None:
        record(action=action, actor=request.user, obj=resident, purpose=purpose, request=request)


def _form_page(request, form, *, title: str, resident, summary: list, back_url: str):
    return render(
        request,
        "payments/staff/money_form.html",
        {
            "form": form,
            "title": title,
            "resident": resident,
            "summary": summary,
            "back_url": back_url,
        },
    )


def _confirm_page(request, form, *, title: str, rows: list, warning: str, button: str):
    return render(
        request,
        "payments/staff/confirm.html",
        {"form": form, "title": title, "rows": rows, "warning": warning, "button": button},
    )


def _year_label(charge: Charge) -> str:
    return _("%(revenue)s %(year)s年度") % {
        "revenue": charge.revenue.name_for(get_language()),
        "year": charge.fiscal_year,
    }


def _yen(amount: int) -> str:
    return _("%(amount)s円") % {"amount": f"{amount:,}"}


# --- 更正 --------------------------------------------------------------------------------------


@never_cache
def correct_charge(request: HttpRequest, charge_id: int) -> HttpResponse:
    _require(request, "payments.add_adjustment")
    charge = get_object_or_404(Charge.objects.select_related("payer", "revenue"), pk=charge_id)
    resident = charge.payer
    _audit(request, resident, "payments.view_charge_correction", gettext_noop("更正"))
    installments = list(charge.installments.order_by("number"))
    form = forms.CorrectionForm(request.POST or None, installments=installments)
    title = _("調定の更正")
    back = reverse("payments:staff_resident", args=[resident.pk])
    summary = [
        (_("納付義務者"), resident.full_name),
        (_("科目・年度"), _year_label(charge)),
        (_("調定額"), _yen(charge.amount)),
    ]
    if request.method == "POST" and "edit" not in request.POST and form.is_valid():
        new_amounts = form.new_amounts()
        if request.POST.get("step") == "confirm":
            try:
                outcome = approvals.request_correction(
                    charge=charge,
                    new_amounts=new_amounts,
                    reason=form.cleaned_data["reason"],
                    clerk=request.user,
                )
            except ValidationError as error:
                forms.apply_errors(form, error)
            else:
                if outcome.pending:
                    messages.info(request, _("承認待ちにしました。監督者の承認後に更正されます。"))
                else:
                    messages.success(request, _("更正しました。"))
                return redirect(back)
        else:
            size = approvals.correction_size(charge, new_amounts)
            rows = [
                (
                    _("第%(number)s期") % {"number": change["number"]},
                    _("%(before)s円 → %(after)s円（納付済 %(paid)s円）")
                    % {
                        "before": f"{change['before']:,}",
                        "after": f"{change['after']:,}",
                        "paid": f"{change['paid']:,}",
                    },
                )
                for change in form.changes()
                if change["before"] != change["after"]
            ]
            rows.append((_("更正の理由"), form.cleaned_data["reason"]))
            warning = (
                _("更正額が%(amount)sを超えるため、確定すると監督者の承認待ちになります。")
                % {"amount": _yen(services.approval_threshold())}
                if size > services.approval_threshold()
                else _("確定すると調定額が変わります。納付済額を下回る分は過誤納金になります。")
            )
            return _confirm_page(
                request,
                form,
                title=title,
                rows=summary + rows,
                warning=warning,
                button=_("更正を確定する"),
            )
    return _form_page(request, form, title=title, resident=resident, summary=summary, back_url=back)


# --- 充当・還付 ----------------------------------------------------------------------------------


def _back_to(resident) -> str:
    if resident is None:
        return reverse("payments:staff_arrears")
    return reverse("payments:staff_resident", args=[resident.pk])


def _credit_or_404(credit_id: int) -> Credit:
    return get_object_or_404(Credit.objects.select_related("payment", "resident"), pk=credit_id)


def _credit_summary(credit: Credit) -> list:
    return [
        (_("住民"), credit.resident.full_name if credit.resident else "—"),
        (
            _("過誤納金の元の収納"),
            _("%(channel)s %(amount)s（%(day)s）")
            % {
                "channel": credit.payment.get_channel_display(),
                "amount": _yen(credit.payment.amount),
                "day": credit.payment.paid_on.isoformat() if credit.payment.paid_on else "—",
            },
        ),
        (_("残額"), _yen(credit.remaining)),
    ]


@never_cache
def apply_credit(request: HttpRequest, credit_id: int) -> HttpResponse:
    _require(request, "payments.change_credit")
    credit = _credit_or_404(credit_id)
    resident = credit.resident
    _audit(request, resident, "payments.view_credit", gettext_noop("充当"))
    rows = selectors.open_installments_for_resident(resident) if resident else []
    form = forms.ApplyCreditForm(request.POST or None, credit=credit, rows=rows)
    title = _("過誤納金の充当")
    back = _back_to(resident)
    summary = _credit_summary(credit)
    if request.method == "POST" and "edit" not in request.POST and form.is_valid():
        row = form.rows[form.cleaned_data["installment"]]
        if request.POST.get("step") == "confirm":
            try:
                services.apply_credit(
                    credit=credit,
                    installment=Installment.objects.get(pk=row["id"]),
                    amount=form.cleaned_data["amount"],
                    clerk=request.user,
                )
            except ValidationError as error:
                forms.apply_errors(form, error)
            else:
                messages.success(request, _("充当しました。"))
                return redirect(back)
        else:
            target = _("%(revenue)s %(year)s年度 第%(number)s期") % {
                "revenue": row["revenue"],
                "year": row["fiscal_year"],
                "number": row["number"],
            }
            return _confirm_page(
                request,
                form,
                title=title,
                rows=summary
                + [(_("充当する期別"), target), (_("充当額"), _yen(form.cleaned_data["amount"]))],
                warning=_("確定すると過誤納金がこの期別の納付に充てられます。"),
                button=_("充当を確定する"),
            )
    return _form_page(request, form, title=title, resident=resident, summary=summary, back_url=back)


@never_cache
def refund_credit(request: HttpRequest, credit_id: int) -> HttpResponse:
    _require(request, "payments.add_refund")
    credit = _credit_or_404(credit_id)
    resident = credit.resident
    _audit(request, resident, "payments.view_credit", gettext_noop("還付"))
    form = forms.RefundForm(request.POST or None, credit=credit)
    title = _("過誤納金の還付")
    back = _back_to(resident)
    summary = _credit_summary(credit)
    if request.method == "POST" and "edit" not in request.POST and form.is_valid():
        amount = form.cleaned_data["amount"]
        if request.POST.get("step") == "confirm":
            try:
                outcome = approvals.request_refund(
                    credit=credit,
                    amount=amount,
                    reason=form.cleaned_data["reason"],
                    clerk=request.user,
                )
            except ValidationError as error:
                forms.apply_errors(form, error)
            else:
                if outcome.pending:
                    messages.info(request, _("承認待ちにしました。監督者の承認後に還付されます。"))
                else:
                    messages.success(request, _("還付を決定しました。"))
                return redirect(back)
        else:
            warning = (
                _("還付額が%(amount)sを超えるため、確定すると監督者の承認待ちになります。")
                % {"amount": _yen(services.approval_threshold())}
                if amount > services.approval_threshold()
                else _("確定すると還付が決定され、取り消せません。")
            )
            return _confirm_page(
                request,
                form,
                title=title,
                rows=summary
                + [(_("還付額"), _yen(amount)), (_("還付の理由"), form.cleaned_data["reason"])],
                warning=warning,
                button=_("還付を確定する"),
            )
    return _form_page(request, form, title=title, resident=resident, summary=summary, back_url=back)


# --- 承認 ---------------------------------------------------------------------------------------


def _approval_resident(approval: Approval):
    return approval.charge.payer if approval.charge_id else approval.credit.resident


@never_cache
def approval_list(request: HttpRequest) -> HttpResponse:
    _require(request, "payments.view_approval")
    # The list names the residents whose bills are corrected or refunded: one read row for it.
    record_read(
        request=request,
        action="payments.approvals_listed",
        purpose=gettext_noop("更正・還付の決裁"),
        object_type="payments.approval",
    )
    return render(
        request,
        "payments/staff/approvals.html",
        {
            "pending": approvals.pending_approvals(),
            "decided": Approval.objects.exclude(state=Approval.State.PENDING)
            .select_related(
                "requested_by",
                "decided_by",
                "charge__payer",
                "charge__revenue",
                "credit__resident",
            )
            .order_by("-decided_at")[:20],
            "reviews": Payment.objects.filter(state=Payment.State.NEEDS_REVIEW)
            .select_related("payer")
            .order_by("id"),
            "threshold": services.approval_threshold(),
        },
    )


@never_cache
def approval_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "payments.view_approval")
    approval = get_object_or_404(
        Approval.objects.select_related(
            "charge__payer",
            "charge__revenue",
            "credit__resident",
            "credit__payment",
            "requested_by",
            "decided_by",
        ),
        pk=pk,
    )
    resident = _approval_resident(approval)
    _audit(request, resident, "payments.view_approval", gettext_noop("更正・還付の決裁"))
    may_decide = (
        approval.state == Approval.State.PENDING
        and request.user.has_perm("payments.decide_approval")
        and approval.requested_by_id != request.user.pk
    )
    form = forms.DecisionForm(request.POST or None)
    if request.method == "POST":
        if not may_decide:
            raise PermissionDenied
        if "edit" not in request.POST and form.is_valid():
            approve = form.cleaned_data["decision"] == "approve"
            if request.POST.get("step") == "confirm":
                try:
                    approvals.decide(
                        approval_id=approval.pk,
                        approve=approve,
                        note=form.cleaned_data["note"],
                        supervisor=request.user,
                    )
                except ValidationError as error:
                    forms.apply_errors(form, error)
                else:
                    messages.success(
                        request, _("承認しました。") if approve else _("却下しました。")
                    )
                    return redirect("payments:staff_approvals")
            else:
                return _confirm_page(
                    request,
                    form,
                    title=_("決裁の確認"),
                    rows=_approval_rows(approval)
                    + [(_("決裁"), _("承認する") if approve else _("却下する"))]
                    + (
                        [(_("所見"), form.cleaned_data["note"])]
                        if form.cleaned_data["note"]
                        else []
                    ),
                    warning=_("承認すると、申請された更正・還付がこの場で確定します。")
                    if approve
                    else _("却下すると、この申請は何も変えずに終わります。"),
                    button=_("決裁を確定する"),
                )
    return render(
        request,
        "payments/staff/approval.html",
        {
            "approval": approval,
            "rows": _approval_rows(approval),
            "may_decide": may_decide,
            "own_request": approval.requested_by_id == request.user.pk,
            "form": form,
        },
    )


def _approval_rows(approval: Approval) -> list:
    resident = _approval_resident(approval)
    rows = [
        (_("種類"), approval.get_kind_display()),
        (_("状態"), approval.get_state_display()),
        (_("住民"), resident.full_name if resident else "—"),
    ]
    if approval.kind == Approval.Kind.CORRECTION:
        current = dict(approval.charge.installments.values_list("number", "amount"))
        rows.append((_("科目・年度"), _year_label(approval.charge)))
        for number, amount in sorted(
            (int(n), a) for n, a in approval.params.get("new_amounts", {}).items()
        ):
            rows.append(
                (
                    _("第%(number)s期") % {"number": number},
                    _("%(before)s円 → %(after)s円")
                    % {"before": f"{current.get(number, 0):,}", "after": f"{amount:,}"},
                )
            )
        rows.append((_("更正額（増減の合計）"), _yen(approval.amount)))
    else:
        rows.append((_("還付額"), _yen(approval.amount)))
        rows.append((_("過誤納金の残額"), _yen(approval.credit.remaining)))
    rows += [
        (_("理由"), approval.reason),
        (_("申請した職員"), str(approval.requested_by)),
        (_("申請日時"), approval.requested_at.strftime("%Y-%m-%d %H:%M")),
    ]
    return rows


# --- 金額相違の収納 ------------------------------------------------------------------------------


@never_cache
def payment_review(request: HttpRequest, payment_id: int) -> HttpResponse:
    _require(request, "payments.review_payment")
    payment = get_object_or_404(
        Payment.objects.select_related("payer"), pk=payment_id, state=Payment.State.NEEDS_REVIEW
    )
    _audit(request, payment.payer, "payments.view_payment_review", gettext_noop("金額相違の確認"))
    form = forms.ReviewForm(request.POST or None)
    rows = [
        (_("納付者"), payment.payer.full_name if payment.payer else "—"),
        (_("請求した額"), _yen(payment.amount)),
        (_("決済事業者の売上額"), _yen(payment.provider_amount or 0)),
        (_("決済事業者"), registry.label(payment.provider)),
        (_("売上日"), payment.paid_on.isoformat() if payment.paid_on else "—"),
    ]
    if request.method == "POST" and "edit" not in request.POST and form.is_valid():
        accept = form.cleaned_data["decision"] == "accept"
        if request.POST.get("step") == "confirm":
            service = (
                services.accept_reviewed_payment if accept else services.refund_reviewed_payment
            )
            try:
                service(
                    payment_id=payment.pk,
                    reason=form.cleaned_data["reason"],
                    supervisor=request.user,
                )
            except ValidationError as error:
                forms.apply_errors(form, error)
            else:
                messages.success(
                    request, _("収納しました。") if accept else _("返金して取り消しました。")
                )
                return redirect("payments:staff_approvals")
        else:
            return _confirm_page(
                request,
                form,
                title=_("金額相違の収納の確認"),
                rows=rows
                + [
                    (
                        _("対応"),
                        dict(form.fields["decision"].choices)[form.cleaned_data["decision"]],
                    ),
                    (_("理由"), form.cleaned_data["reason"]),
                ],
                warning=_("確定すると売上額で消込します。")
                if accept
                else _("確定すると決済事業者に返金を依頼し、収納を取り消します。"),
                button=_("確定する"),
            )
    return _form_page(
        request,
        form,
        title=_("金額相違の収納の確認"),
        resident=payment.payer,
        summary=rows,
        back_url=reverse("payments:staff_approvals"),
    )
