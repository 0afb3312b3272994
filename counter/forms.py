"""Forms of the counter pages (labels and errors in Japanese first)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Counter, Service

MAX_STATS_DAYS = 366


class TransferForm(forms.Form):
    service = forms.ModelChoiceField(
        label=_("転送先の業務"),
        queryset=Service.objects.filter(active=True),
        error_messages={"required": _("転送先の業務を選んでください。")},
    )
    to_counter = forms.ModelChoiceField(
        label=_("転送先の窓口（任意）"),
        queryset=Counter.objects.filter(active=True),
        required=False,
        help_text=_("選ばない場合は、その業務を扱うどの窓口でも呼び出せます。"),
    )

    def __init__(self, *args, current: Counter | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if current is not None:
            self.fields["to_counter"].queryset = Counter.objects.filter(active=True).exclude(
                pk=current.pk
            )
        self.auto_id = f"id_transfer_{current.pk if current else 'x'}_%s"


class ResidentSearchForm(forms.Form):
    q = forms.CharField(
        label=_("氏名・フリガナ"),
        max_length=80,
        error_messages={"required": _("氏名またはフリガナを入力してください。")},
    )
    birth_date = forms.DateField(
        label=_("生年月日（任意）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("生年月日は 2026-01-31 の形で入力してください。")},
    )


class StatsForm(forms.Form):
    date_from = forms.DateField(
        label=_("開始日"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("開始日は 2026-01-31 の形で入力してください。")},
    )
    date_to = forms.DateField(
        label=_("終了日"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("終了日は 2026-01-31 の形で入力してください。")},
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                self.add_error("date_to", _("終了日は開始日以降の日付にしてください。"))
            elif end - start > dt.timedelta(days=MAX_STATS_DAYS):
                self.add_error("date_to", _("期間は1年以内にしてください。"))
        return data
