from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class CardForm(forms.Form):
    card_number = forms.CharField(
        label=_("カード番号"),
        max_length=23,
        help_text=_("テスト用のカード番号を入力してください。"),
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )

    def clean_card_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["card_number"])
        if not number.isdigit() or not 12 <= len(number) <= 19:
            raise ValidationError(_("カード番号は12〜19桁の数字で入力してください。"))
        return number
