"""Forms of the clerk pages and the portal link. Validation of substance is in services; the
forms check shape (required, dates) and carry the services' messages back to their fields."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Resident
from .services import ACCESS_PURPOSES


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _date(label, *, required: bool = True, today: bool = False, help_text: str = ""):
    return forms.DateField(
        label=label,
        required=required,
        widget=DateInput(),
        initial=timezone.localdate if today else None,
        help_text=help_text,
    )


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Resident) -> str:
        return f"{obj.full_name}（{obj.relationship}）"


class MembersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Resident) -> str:
        return f"{obj.full_name}（{obj.relationship}）"


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("氏名・フリガナ・住民票コード"),
        required=False,
        help_text=_("一部だけでも探せます。ひらがな・半角カナも使えます。"),
    )
    birth_date = _date(_("生年月日"), required=False)
    address = forms.CharField(label=_("住所"), required=False, help_text=_("例: 本町3-12"))

    def clean(self):
        data = super().clean()
        if not (data.get("q") or data.get("birth_date") or data.get("address")):
            raise forms.ValidationError(
                _("氏名・生年月日・住所のいずれかを入力してください。"), code="empty"
            )
        return data


class PurposeForm(forms.Form):
    purpose = forms.ChoiceField(
        label=_("利用目的"),
        choices=[(key, _(label)) for key, label in ACCESS_PURPOSES.items()],
        widget=forms.RadioSelect,
        help_text=_("住民記録の閲覧は目的とともに記録されます。"),
    )


class NamesMixin(forms.Form):
    family_name = forms.CharField(label=_("氏"), max_length=40)
    given_name = forms.CharField(label=_("名"), max_length=40)
    family_name_kana = forms.CharField(
        label=_("氏（フリガナ）"), max_length=80, help_text=_("カタカナ（ひらがな・半角も可）")
    )
    given_name_kana = forms.CharField(label=_("名（フリガナ）"), max_length=80)


class MoveInForm(NamesMixin):
    birth_date = _date(_("生年月日"))
    sex = forms.ChoiceField(label=_("性別"), choices=Resident.Sex.choices, widget=forms.RadioSelect)
    address = forms.CharField(
        label=_("住所"),
        required=False,
        help_text=_("新しい世帯のとき。例: 本町3丁目12番4号 メゾン本町201"),
    )
    relationship = forms.CharField(
        label=_("続柄"),
        required=False,
        max_length=20,
        help_text=_("既存の世帯に入るとき。例: 妻、子"),
    )
    previous_address = forms.CharField(label=_("前住所"), required=False, max_length=200)
    mynumber = forms.CharField(label=_("個人番号"), required=False, max_length=20)
    effective_on = _date(_("異動日（転入した日）"))
    notified_on = _date(_("届出日"), today=True)

    def __init__(self, *args, joining: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address" if joining else "relationship"].widget = forms.HiddenInput()


class MoveOutForm(forms.Form):
    effective_on = _date(_("異動日（転出する日）"))
    notified_on = _date(_("届出日"), today=True)
    destination = forms.CharField(label=_("転出先"), required=False, max_length=200)
    new_head = MemberChoiceField(
        label=_("新しい世帯主"),
        queryset=Resident.objects.none(),
        required=False,
        help_text=_("世帯主が転出し、ほかの世帯員が残るときに選びます。"),
    )

    def __init__(self, *args, others, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_head"].queryset = others


class DeathForm(forms.Form):
    died_on = _date(_("死亡日"))
    notified_on = _date(_("届出日"), today=True)
    new_head = MemberChoiceField(
        label=_("新しい世帯主"), queryset=Resident.objects.none(), required=False
    )

    def __init__(self, *args, others, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_head"].queryset = others


class RelocationForm(forms.Form):
    residents = MembersField(
        label=_("転居する人"), queryset=Resident.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    address = forms.CharField(label=_("新しい住所"), help_text=_("例: 栄町1丁目2番3号"))
    effective_on = _date(_("異動日（転居した日）"))
    notified_on = _date(_("届出日"), today=True)
    new_head = MemberChoiceField(
        label=_("残る世帯の新しい世帯主"),
        queryset=Resident.objects.none(),
        required=False,
        help_text=_("世帯主だけが転居し、ほかの世帯員が残るときに選びます。"),
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["residents"].queryset = members
        self.fields["new_head"].queryset = members


class BirthForm(NamesMixin):
    birth_date = _date(_("生年月日"))
    sex = forms.ChoiceField(label=_("性別"), choices=Resident.Sex.choices, widget=forms.RadioSelect)
    relationship = forms.CharField(label=_("続柄"), initial="子", max_length=20)
    mynumber = forms.CharField(label=_("個人番号"), required=False, max_length=20)
    notified_on = _date(_("届出日"), today=True)


class HeadChangeForm(forms.Form):
    new_head = MemberChoiceField(label=_("新しい世帯主"), queryset=Resident.objects.none())
    former_head_relationship = forms.CharField(
        label=_("元の世帯主の続柄"), max_length=20, help_text=_("新しい世帯主から見た続柄。例: 夫")
    )
    effective_on = _date(_("異動日"))
    notified_on = _date(_("届出日"), today=True)

    def __init__(self, *args, others, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_head"].queryset = others


class CorrectionForm(NamesMixin):
    birth_date = _date(_("生年月日"))
    sex = forms.ChoiceField(label=_("性別"), choices=Resident.Sex.choices, widget=forms.RadioSelect)
    relationship = forms.CharField(label=_("続柄"), max_length=20)
    registered_domicile = forms.CharField(label=_("本籍"), required=False, max_length=200)
    domicile_head = forms.CharField(label=_("筆頭者"), required=False, max_length=80)
    mynumber = forms.CharField(
        label=_("個人番号"),
        required=False,
        max_length=20,
        help_text=_("変更するときだけ入力します。"),
    )
    reason = forms.CharField(label=_("修正の理由"), max_length=200)
    notified_on = _date(_("届出日・職権の日"), today=True)


class RevealForm(forms.Form):
    purpose = forms.CharField(
        label=_("表示する目的"), max_length=200, help_text=_("例: 児童手当の認定審査")
    )


class LinkForm(forms.Form):
    code = forms.CharField(
        label=_("登録コード"),
        max_length=20,
        help_text=_("郵送した通知に書かれた12文字（例: ABCD-EFGH-JKLM）"),
    )
    birth_date = _date(_("生年月日"))
