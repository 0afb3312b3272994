from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class AddressSearchForm(forms.Form):
    address = forms.CharField(
        label=_("住所"),
        max_length=120,
        help_text=_("例：本町3丁目12番4号、本町3-12-4"),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )


class PlaceAddressForm(forms.Form):
    address_id = forms.IntegerField(widget=forms.HiddenInput)
    typed_address = forms.CharField(
        label=_("正しい住所（丁目・番・号まで）"),
        max_length=120,
        help_text=_("例：本町3丁目12番4号"),
    )
