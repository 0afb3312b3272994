"""Forms of the payments pages. Checks that need the ledger live in the services."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import BatchRun, DebitAccount


def apply_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError next to its field (or at the top)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class DebitAccountForm(forms.Form):
    bank_code = forms.RegexField(
        label=_("金融機関コード（4桁）"),
        regex=r"^\d{4}$",
        error_messages={"invalid": _("金融機関コードは4桁の数字です。")},
    )
    branch_code = forms.RegexField(
        label=_("支店コード（3桁）"),
        regex=r"^\d{3}$",
        error_messages={"invalid": _("支店コードは3桁の数字です。")},
    )
    account_type = forms.TypedChoiceField(
        label=_("預金種目"), choices=DebitAccount.AccountType.choices, coerce=int
    )
    account_number = forms.RegexField(
        label=_("口座番号（7桁）"),
        regex=r"^\d{1,7}$",
        error_messages={"invalid": _("口座番号は7桁までの数字です。")},
    )
    holder_kana = forms.CharField(label=_("口座名義（カナ）"), max_length=30)

    def clean_account_number(self) -> str:
        return self.cleaned_data["account_number"].zfill(7)


class PaymentPlanForm(forms.Form):
    monthly_amount = forms.IntegerField(label=_("月々の納付額（円）"), min_value=1)
    first_due_on = forms.DateField(
        label=_("初回納期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("備考"), max_length=200, required=False)


class CounterPaymentForm(forms.Form):
    amount = forms.IntegerField(label=_("受領額（円）"), min_value=1)
    # One key per rendered form: the same form submitted twice (a double click, a resent
    # POST) records the cash once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


class BatchUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("種類"),
        choices=[
            (BatchRun.Kind.BILLING, _("当初賦課（課税データ取込）")),
            (BatchRun.Kind.KONBINI_IMPORT, _("コンビニ収納の速報・確報取込")),
            (BatchRun.Kind.ZENGIN_REQUEST, _("口座振替依頼データ作成")),
            (BatchRun.Kind.ZENGIN_RESULT, _("口座振替結果取込")),
            (BatchRun.Kind.LATE_CHARGE, _("延滞金確定")),
            (BatchRun.Kind.ARREARS, _("督促・催告")),
        ],
    )
    file = forms.FileField(label=_("ファイル"), required=False)
    on_date = forms.DateField(
        label=_("基準日・振替日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    fiscal_year = forms.IntegerField(label=_("年度"), required=False, min_value=2000)

    def clean(self):
        data = super().clean()
        needs_file = {
            BatchRun.Kind.BILLING,
            BatchRun.Kind.KONBINI_IMPORT,
            BatchRun.Kind.ZENGIN_RESULT,
        }
        if data.get("kind") in needs_file and not data.get("file"):
            self.add_error("file", _("このバッチにはファイルが必要です。"))
        if data.get("kind") == BatchRun.Kind.ZENGIN_REQUEST and not data.get("on_date"):
            self.add_error("on_date", _("振替日を入力してください。"))
        return data

    def params(self) -> dict:
        on_date: date | None = self.cleaned_data.get("on_date")
        params = {}
        if on_date:
            params["on_date"] = on_date.isoformat()
        if self.cleaned_data.get("fiscal_year"):
            params["fiscal_year"] = self.cleaned_data["fiscal_year"]
        return params


class CorrectionForm(forms.Form):
    """更正: a new amount for each installment of a charge, and the reason."""

    reason = forms.CharField(label=_("更正の理由"), max_length=200)

    def __init__(self, *args, installments, **kwargs):
        super().__init__(*args, **kwargs)
        self.installments = list(installments)
        for item in self.installments:
            self.fields[f"amount_{item.number}"] = forms.IntegerField(
                label=_("第%(number)s期の新しい金額（円）") % {"number": item.number},
                min_value=0,
                initial=item.amount,
            )
        # The reason last, after the amounts.
        self.order_fields([f"amount_{item.number}" for item in self.installments] + ["reason"])

    def new_amounts(self) -> dict[int, int]:
        return {
            item.number: self.cleaned_data[f"amount_{item.number}"]
            for item in self.installments
            if self.cleaned_data[f"amount_{item.number}"] != item.amount
        }

    def changes(self) -> list[dict]:
        return [
            {
                "number": item.number,
                "before": item.amount,
                "after": self.cleaned_data[f"amount_{item.number}"],
                "paid": item.allocated,
            }
            for item in self.installments
        ]

    def clean(self):
        data = super().clean()
        if not self.errors and not self.new_amounts():
            raise ValidationError(_("金額が変わっていません。新しい金額を入力してください。"))
        return data


class ApplyCreditForm(forms.Form):
    """充当: which open installment of the resident, and how much of the credit."""

    installment = forms.TypedChoiceField(label=_("充当する期別"), coerce=int)
    amount = forms.IntegerField(label=_("充当額（円）"), min_value=1)

    def __init__(self, *args, credit, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.credit = credit
        self.rows = {row["id"]: row for row in rows}
        self.fields["installment"].choices = [
            (
                row["id"],
                _("%(revenue)s %(year)s年度 第%(number)s期（未納 %(amount)s円）")
                % {
                    "revenue": row["revenue"],
                    "year": row["fiscal_year"],
                    "number": row["number"],
                    "amount": f"{row['outstanding']:,}",
                },
            )
            for row in rows
        ]

    def clean(self):
        data = super().clean()
        amount, installment = data.get("amount"), data.get("installment")
        if amount and amount > self.credit.remaining:
            self.add_error(
                "amount",
                _("充当できるのは%(amount)s円までです。")
                % {"amount": f"{self.credit.remaining:,}"},
            )
        elif amount and installment in self.rows and amount > self.rows[installment]["outstanding"]:
            self.add_error(
                "amount",
                _("この期別の未納額は%(amount)s円です。")
                % {"amount": f"{self.rows[installment]['outstanding']:,}"},
            )
        return data


class RefundForm(forms.Form):
    amount = forms.IntegerField(label=_("還付額（円）"), min_value=1)
    reason = forms.CharField(label=_("還付の理由"), max_length=200)

    def __init__(self, *args, credit, **kwargs):
        super().__init__(*args, **kwargs)
        self.credit = credit

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount > self.credit.remaining:
            raise ValidationError(
                _("還付できるのは%(amount)s円までです。") % {"amount": f"{self.credit.remaining:,}"}
            )
        return amount


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("決裁"),
        choices=[("approve", _("承認する")), ("reject", _("却下する"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("所見（却下の場合は理由）"), max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not data.get("note", "").strip():
            self.add_error("note", _("却下の理由を入力してください。"))
        return data


class ReviewForm(forms.Form):
    """A payment whose captured amount differed: accept that amount, or send it back."""

    decision = forms.ChoiceField(
        label=_("対応"),
        choices=[
            ("accept", _("決済事業者の売上額で収納する")),
            ("refund", _("全額を返金して取り消す")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label=_("理由"), max_length=200)
