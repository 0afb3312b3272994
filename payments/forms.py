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
