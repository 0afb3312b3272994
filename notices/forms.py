"""Forms of the notices pages. Labels are the words a person reads; values stay on error."""

from __future__ import annotations

import csv
import io

from django import forms
from django.utils.translation import gettext_lazy as _

from gis import selectors as gis_selectors
from residents import selectors as resident_selectors

from .eventtypes import EVENT_TYPES
from .models import SUBSCRIBABLE_TOPICS, Channel, RecipientList, Template, Topic


class TextsForm(forms.Form):
    subject_ja = forms.CharField(label=_("件名"), max_length=150)
    subject_en = forms.CharField(label=_("件名（英語）"), max_length=150)
    body_ja = forms.CharField(
        label=_("本文"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "((name)) のように二重のかっこで差し込み項目を書けます。**太字**、- 箇条書き、[リンク](https://…) が使えます。"
        ),
    )
    body_en = forms.CharField(label=_("本文（英語）"), widget=forms.Textarea(attrs={"rows": 8}))
    line_ja = forms.CharField(
        label=_("LINEの文面"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("空欄なら件名と本文から作ります。LINEには書式がなく、文字だけが届きます。"),
    )
    line_en = forms.CharField(
        label=_("LINEの文面（英語）"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class TemplateForm(TextsForm):
    key = forms.SlugField(
        label=_("識別子"), max_length=60, help_text=_("半角英数字とハイフン（例: bosai-kunren）")
    )
    name = forms.CharField(label=_("管理用の名前"), max_length=100)
    topic = forms.ChoiceField(label=_("分野"), choices=Topic.choices)
    event_key = forms.ChoiceField(label=_("対応するできごと"), required=False)
    uses_sensitive_data = forms.BooleanField(
        label=_("税・給付の情報を使う（本人の同意がある人だけに送ります）"), required=False
    )
    field_order = ["key", "name", "topic", "event_key", "uses_sensitive_data"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event_key"].choices = [("", _("なし（職員が配信する）"))] + [
            (key, event.name) for key, event in EVENT_TYPES.items()
        ]


class ComposeForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("ひな形"), queryset=Template.objects.none(), empty_label=_("選んでください")
    )
    emergency = forms.BooleanField(
        label=_("緊急の防災情報として送る（受信設定と通知しない時間帯に関わらず届けます）"),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = Template.objects.filter(
            active=True, event_key=""
        ).order_by("topic", "name")
        self.fields["template"].label_from_instance = lambda t: (
            f"{t.name}（{t.get_topic_display()}）"
        )


def _town_label(town: str, chome: int | None) -> str:
    return f"{town}{chome}丁目" if chome else town


class SegmentForm(forms.Form):
    as_of = forms.DateField(
        label=_("基準日"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("この日に市内に住んでいる人だけが対象です。"),
    )
    age_min = forms.IntegerField(label=_("年齢（何歳から）"), required=False, min_value=0)
    age_max = forms.IntegerField(label=_("年齢（何歳まで）"), required=False, min_value=0)
    sex = forms.ChoiceField(
        label=_("性別"),
        required=False,
        choices=[("", _("指定しない")), ("male", _("男")), ("female", _("女"))],
    )
    towns = forms.MultipleChoiceField(
        label=_("町丁目"), required=False, widget=forms.CheckboxSelectMultiple
    )
    garbage_districts = forms.MultipleChoiceField(
        label=_("ごみ収集地区"), required=False, widget=forms.CheckboxSelectMultiple
    )
    child_under = forms.IntegerField(
        label=_("この年齢未満の子どもがいる世帯"), required=False, min_value=1, max_value=18
    )
    installment_due_days = forms.IntegerField(
        label=_("納期限が何日以内の未納の税・料金がある人（同意した人だけ）"),
        required=False,
        min_value=0,
        max_value=90,
    )
    near_lon = forms.FloatField(label=_("地点の経度"), required=False)
    near_lat = forms.FloatField(label=_("地点の緯度"), required=False)
    near_metres = forms.IntegerField(label=_("地点からの半径（メートル）"), required=False)
    recipient_list = forms.ModelChoiceField(
        label=_("配信先リスト（CSV）"),
        required=False,
        queryset=RecipientList.objects.all(),
        empty_label=_("使わない"),
    )

    def __init__(self, *args, on=None, **kwargs):
        super().__init__(*args, **kwargs)
        if on is not None:
            self.fields["towns"].choices = [
                (f"{town}:{chome or ''}", _town_label(town, chome))
                for town, chome in resident_selectors.towns_with_chome(on)
            ]
        self.fields["garbage_districts"].choices = [
            (d.code, d.name) for d in gis_selectors.garbage_districts()
        ]

    def clean(self):
        data = super().clean()
        near = [data.get("near_lon"), data.get("near_lat"), data.get("near_metres")]
        if any(v is not None for v in near) and not all(v is not None for v in near):
            self.add_error(
                "near_metres", _("地点で選ぶときは、経度・緯度・半径をすべて入力してください。")
            )
        return data

    def spec_data(self) -> dict:
        data = self.cleaned_data
        spec = {
            name: data.get(name)
            for name in (
                "age_min",
                "age_max",
                "sex",
                "towns",
                "garbage_districts",
                "child_under",
                "installment_due_days",
            )
        }
        if data.get("recipient_list") is not None:
            spec["recipient_list"] = data["recipient_list"].pk
        if data.get("near_metres") is not None:
            spec["near"] = {
                "lon": data["near_lon"],
                "lat": data["near_lat"],
                "metres": data["near_metres"],
            }
        return spec


class RecipientListForm(forms.Form):
    name = forms.CharField(label=_("リストの名前"), max_length=100)
    file = forms.FileField(
        label=_("CSVファイル"),
        help_text=_(
            "1列目に住民票コード（11桁）。1行目が見出しでもかまいません。UTF-8 または Shift_JIS。"
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError(_("5MB以下のファイルにしてください。"))
        raw = upload.read()
        for encoding in ("utf-8-sig", "cp932"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise forms.ValidationError(_("文字コードを読み取れません。UTF-8で保存してください。"))
        codes = []
        for row in csv.reader(io.StringIO(text)):
            if row and row[0].strip().isdigit():
                codes.append(row[0].strip())
        if not codes:
            raise forms.ValidationError(_("住民票コードが1件もありません。"))
        self.codes = codes
        return upload


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label=_("配信日時"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("空欄なら承認されしだい配信します。"),
    )


class ApproveForm(ScheduleForm):
    confirm = forms.BooleanField(
        label=_("内容と対象人数を確認し、配信を承認します"),
        error_messages={"required": _("確認のチェックを入れてください。")},
    )


class SendBackForm(forms.Form):
    comment = forms.CharField(
        label=_("差し戻す理由"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )


class CancelForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("まだ届いていない分は送られなくなります。取り消してよろしいですか"),
        error_messages={"required": _("確認のチェックを入れてください。")},
    )


class PreferenceForm(forms.Form):
    topics = forms.MultipleChoiceField(
        label=_("受け取る分野"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(t.value, t.label) for t in SUBSCRIBABLE_TOPICS],
        help_text=_("防災の緊急情報は、分野の選択に関わらずお届けします。"),
    )
    channels = forms.MultipleChoiceField(
        label=_("マイページのほかに受け取る方法"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            (Channel.EMAIL.value, Channel.EMAIL.label),
            (Channel.LINE.value, Channel.LINE.label),
        ],
    )
    language = forms.ChoiceField(
        label=_("お知らせの言語"),
        choices=[("ja", _("日本語")), ("en", _("英語"))],
        widget=forms.RadioSelect,
    )
    quiet_start = forms.TimeField(
        label=_("通知しない時間帯（から）"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_(
            "この時間帯のメール・LINEは、終わりの時刻にお届けします（緊急の防災情報を除く）。"
        ),
    )
    quiet_end = forms.TimeField(
        label=_("通知しない時間帯（まで）"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


class ConsentForm(forms.Form):
    agree = forms.BooleanField(
        label=_("税・給付の情報を使って、わたしが使える制度などのお知らせを送ることに同意します"),
        error_messages={"required": _("同意する場合はチェックを入れてください。")},
    )


class WithdrawConsentForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("同意を取り消します。税・給付の情報を使ったお知らせは、すぐに届かなくなります"),
        error_messages={"required": _("取り消す場合はチェックを入れてください。")},
    )
