"""Forms of the facility pages. Rules that need the database live in the services; a
service's ValidationError is put next to its field by ``apply_errors``."""

from __future__ import annotations

from datetime import date, time

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Facility, Member, OpeningHours, Registration, Unit


def apply_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class SearchForm(forms.Form):
    kind = forms.ChoiceField(label=_("施設の種類"), required=False)
    area = forms.ChoiceField(label=_("地区"), required=False)
    date = forms.DateField(label=_("日付"), required=False, widget=DateInput())

    def __init__(self, *args, areas=(), english=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("すべて"))] + list(Facility.Kind.choices)
        self.fields["area"].choices = [("", _("すべて"))] + [
            (ja, en if english and en else ja) for ja, en in areas
        ]

    def clean_date(self) -> date:
        return self.cleaned_data.get("date") or timezone.localdate()


class RegistrationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Registration) -> str:
        return f"{obj.name}（{obj.get_kind_display()} {obj.number}）"


class BookingForm(forms.Form):
    registration = RegistrationChoiceField(
        label=_("利用者"), queryset=Registration.objects.none(), empty_label=None
    )
    slot_count = forms.IntegerField(
        label=_("コマ数"), min_value=1, initial=1, help_text=_("続けて予約するコマの数です。")
    )
    purpose = forms.CharField(label=_("利用目的"), max_length=100)
    attendees = forms.IntegerField(label=_("利用人数"), min_value=1)

    def __init__(self, *args, registrations, unit: Unit, equipment=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["registration"].queryset = Registration.objects.filter(
            pk__in=[r.pk for r in registrations]
        )
        if unit.slot_mode == Unit.SlotMode.FIXED:
            del self.fields["slot_count"]
        else:
            self.fields["slot_count"].validators.append(
                MaxValueValidator(unit.max_slots_per_booking)
            )
            self.fields["slot_count"].widget.attrs["max"] = unit.max_slots_per_booking
        self.fields["attendees"].validators.append(
            MaxValueValidator(
                unit.capacity,
                message=_("利用人数が定員（%(n)s人）を超えています。") % {"n": unit.capacity},
            )
        )
        self.fields["attendees"].widget.attrs["max"] = unit.capacity
        self.fields["attendees"].help_text = _("定員は%(n)s人です。") % {"n": unit.capacity}
        self.equipment = list(equipment)
        for item in self.equipment:
            self.fields[f"equipment_{item.pk}"] = forms.IntegerField(
                label=_("%(name)s（1回 %(fee)s円、%(n)s台まで）")
                % {"name": item.name, "fee": f"{item.fee:,}", "n": item.quantity},
                min_value=0,
                max_value=item.quantity,
                initial=0,
                required=False,
            )

    def wanted_equipment(self) -> dict[int, int]:
        return {
            item.pk: self.cleaned_data.get(f"equipment_{item.pk}") or 0 for item in self.equipment
        }


class IndividualForm(forms.Form):
    name = forms.CharField(label=_("氏名"), max_length=100)
    name_kana = forms.CharField(label=_("フリガナ"), max_length=150)
    phone = forms.CharField(label=_("電話番号"), max_length=20, required=False)


class GroupForm(forms.Form):
    name = forms.CharField(label=_("団体名"), max_length=100)
    name_kana = forms.CharField(label=_("団体名（フリガナ）"), max_length=150)
    phone = forms.CharField(label=_("連絡先の電話番号"), max_length=20)
    activity = forms.CharField(label=_("活動内容"), max_length=200)


class MemberForm(forms.Form):
    name = forms.CharField(label=_("氏名"), max_length=80, required=False)
    name_kana = forms.CharField(label=_("フリガナ"), max_length=120, required=False)
    relation = forms.ChoiceField(
        label=_("市との関係"),
        choices=[("", "—")] + list(Member.Relation.choices),
        required=False,
    )

    def clean(self):
        data = super().clean()
        filled = [data.get("name"), data.get("name_kana"), data.get("relation")]
        if any(filled) and not all(filled):
            raise ValidationError(_("氏名、フリガナ、市との関係をすべて入力してください。"))
        return data


MemberFormSet = forms.formset_factory(MemberForm, extra=10, max_num=60)


class EntryForm(forms.Form):
    registration = RegistrationChoiceField(
        label=_("申込者"), queryset=Registration.objects.none(), empty_label=None
    )

    def __init__(self, *args, registrations, slots, choices: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["registration"].queryset = Registration.objects.filter(
            pk__in=[r.pk for r in registrations]
        )
        options = [("", _("選んでください"))] + [(str(pk), label) for pk, label in slots]
        for rank in range(1, choices + 1):
            self.fields[f"choice_{rank}"] = forms.ChoiceField(
                label=_("第%(n)s希望") % {"n": rank},
                choices=options,
                required=rank == 1,
                help_text=_("第1希望が落選したときだけ抽選されます。") if rank > 1 else "",
            )
        self.choice_count = choices

    def slot_ids(self) -> list[int]:
        ids = []
        for rank in range(1, self.choice_count + 1):
            value = self.cleaned_data.get(f"choice_{rank}")
            if value:
                ids.append(int(value))
        return ids


class SeriesForm(forms.Form):
    registration = RegistrationChoiceField(
        label=_("団体"), queryset=Registration.objects.none(), empty_label=None
    )
    unit = forms.ModelChoiceField(label=_("室場"), queryset=Unit.objects.none(), empty_label=None)
    weekday = forms.TypedChoiceField(
        label=_("曜日"), choices=OpeningHours.Weekday.choices, coerce=int
    )
    starts = forms.TimeField(label=_("開始時刻"), widget=TimeInput(), initial=time(18))
    ends = forms.TimeField(label=_("終了時刻"), widget=TimeInput(), initial=time(21))
    first_date = forms.DateField(label=_("初回"), widget=DateInput())
    last_date = forms.DateField(label=_("最終回"), widget=DateInput())

    def __init__(self, *args, registrations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["registration"].queryset = Registration.objects.filter(
            pk__in=[r.pk for r in registrations]
        )
        self.fields["unit"].queryset = Unit.objects.filter(
            active=True, facility__active=True
        ).select_related("facility")
        self.fields["unit"].label_from_instance = lambda u: f"{u.facility.name} {u.name}"


# --- staff -------------------------------------------------------------------------------------


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("不承認の理由"),
        max_length=200,
        required=False,
        help_text=_("不承認のときは必ず入力してください。申請者に伝わります。"),
    )


class BlockForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("室場"), queryset=Unit.objects.none(), empty_label=None)
    day = forms.DateField(label=_("日付"), widget=DateInput())
    starts = forms.TimeField(label=_("開始時刻"), widget=TimeInput())
    ends = forms.TimeField(label=_("終了時刻"), widget=TimeInput())
    reason = forms.CharField(label=_("行政利用の内容"), max_length=100)

    def __init__(self, *args, facility: Facility, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = facility.units.filter(active=True)

    def clean(self):
        data = super().clean()
        if data.get("starts") and data.get("ends") and data["ends"] <= data["starts"]:
            self.add_error("ends", _("終了は開始より後にしてください。"))
        return data


class ReceiptForm(forms.Form):
    receipt = forms.CharField(
        label=_("領収番号"),
        max_length=30,
        required=False,
        help_text=_("住民記録のない利用者から施設窓口で受け取ったときに入力します。"),
    )


class StatsForm(forms.Form):
    first = forms.DateField(label=_("開始月"), widget=DateInput())
    last = forms.DateField(label=_("終了月"), widget=DateInput())
    facility = forms.ModelChoiceField(
        label=_("施設"), queryset=Facility.objects.filter(active=True), required=False
    )

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first and last:
            if last < first:
                self.add_error("last", _("終了月は開始月より後にしてください。"))
            elif (last.year - first.year) * 12 + last.month - first.month > 23:
                self.add_error("last", _("一度に集計できるのは24か月までです。"))
        return data
