"""The form designer's forms: a procedure's settings, one question's settings, a page's title
and routes, publishing. Each turns what staff chose from menus into the definition's JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from . import designer, formschema
from .models import Channels, FeeRule, LifeEvent, Procedure

EXTRA_CHOICE_ROWS = 3
ROUTE_ROWS = 3


class ProcedureSettingsForm(forms.ModelForm):
    """Item 1: everything a procedure is, edited in /staff/ (never in the Django admin)."""

    life_events = forms.MultipleChoiceField(
        label=_("ライフイベント"),
        choices=LifeEvent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("「引越し」などの一覧に載せます"),
    )
    fee_revenue = forms.ChoiceField(label=_("手数料の歳入科目"), required=False, choices=[])

    class Meta:
        model = Procedure
        fields = [
            "name_ja",
            "name_en",
            "slug",
            "name_kana",
            "keywords",
            "category",
            "department",
            "life_events",
            "description_ja",
            "description_en",
            "processing_days",
            "channels",
            "counter_place_ja",
            "counter_place_en",
            "identity_level",
            "certificate_kind",
            "fee_rule",
            "fee_yen",
            "fee_revenue",
        ]
        labels = {"slug": _("URLに使う名前（英小文字・数字・ハイフン）")}
        help_texts = {
            "slug": _("空のままなら英語の名称から作ります。あとから変えられません。"),
            "processing_days": _("申請から処理を終えるまでの開庁日の数"),
            "fee_yen": _("定額の手数料、1通あたりの額、または選んだ項目の額に足す基本額"),
        }
        widgets = {
            "description_ja": forms.Textarea(attrs={"rows": 3}),
            "description_en": forms.Textarea(attrs={"rows": 3}),
            "channels": forms.RadioSelect,
            "fee_rule": forms.RadioSelect,
            "category": forms.RadioSelect,
        }

    def __init__(self, *args, revenues: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fee_revenue"].choices = [("", _("選んでください")), *revenues]
        self.fields["slug"].required = False
        if self.instance.pk:
            self.fields["slug"].disabled = True
        self.fields["channels"].choices = Channels.choices
        self.fields["fee_rule"].choices = FeeRule.choices

    def clean_slug(self) -> str:
        if self.instance.pk:
            return self.instance.slug
        slug = self.cleaned_data.get("slug") or slugify(self.data.get("name_en", ""))[:60]
        if not slug:
            raise forms.ValidationError(_("英語の名称を入れるか、URLに使う名前を入れてください。"))
        if Procedure.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("この名前はほかの手続で使われています。"))
        return slug

    def clean(self):
        data = super().clean()
        rule = data.get("fee_rule")
        if rule in (FeeRule.FIXED, FeeRule.PER_COPY) and not data.get("fee_yen"):
            self.add_error("fee_yen", _("手数料の額を入れてください。"))
        if rule and rule != FeeRule.NONE and not data.get("fee_revenue"):
            self.add_error("fee_revenue", _("手数料を収める歳入科目を選んでください。"))
        if data.get("fee_yen") is not None and data["fee_yen"] < 0:
            self.add_error("fee_yen", _("手数料は0円以上にしてください。"))
        return data


def _localised(ja: str, en: str) -> dict | None:
    ja, en = (ja or "").strip(), (en or "").strip()
    if not ja:
        return None
    return {"ja": ja, "en": en} if en else {"ja": ja}


class QuestionForm(forms.Form):
    """One question's settings. Which settings appear depends on its kind (the palette entry);
    options of a choice question are rows choice-N-ja / -en / -fee (-value keeps an existing
    option's value, so answers and conditions keep pointing at it)."""

    label_ja = forms.CharField(label=_("見出し（日本語）"), max_length=200)
    label_en = forms.CharField(
        label=_("見出し（英語）"),
        max_length=200,
        required=False,
        help_text=_("公開には英語も必要です"),
    )
    help_ja = forms.CharField(
        label=_("説明（日本語）"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("答え方の例など。見出しの下に出ます"),
    )
    help_en = forms.CharField(
        label=_("説明（英語）"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    required = forms.BooleanField(label=_("答えを必須にする"), required=False)
    show_if = forms.ChoiceField(
        label=_("この質問を表示する条件"),
        required=False,
        help_text=_("前の質問の答えによってだけ聞く場合に選びます"),
    )

    def __init__(self, *args, kind: str, definition: dict, field: dict | None = None, **kwargs):
        self.kind = kind
        self.definition = definition
        self.existing = field
        ftype = designer.KINDS[kind].base["type"]
        self.ftype = ftype
        initial = kwargs.pop("initial", None) or _initial(field)
        super().__init__(*args, initial=initial, **kwargs)
        conditions = designer.condition_options(definition, field["id"] if field else None)
        current = designer.condition_value(field.get("show_if") if field else None)
        choices = [("", _("いつも表示する")), *conditions]
        if current and current not in dict(conditions):
            # A condition on a deleted question or answer: shown, so it can be cleared (Open
            # Forms #4621: a dangling condition that the menu cannot show cannot be removed).
            choices.append((current, _("（削除された質問か選択肢です。選び直してください）")))
        self.fields["show_if"].choices = choices
        if ftype in ("text", "long_text", "address", "phone", "email"):
            self.fields["min_length"] = forms.IntegerField(
                label=_("最小文字数"), required=False, min_value=0
            )
            self.fields["max_length"] = forms.IntegerField(
                label=_("最大文字数"), required=False, min_value=1
            )
        if ftype == "text":
            self.fields["pattern"] = forms.ChoiceField(
                label=_("入力できる文字"),
                required=False,
                choices=[("", _("制限しない"))]
                + [(key, words) for key, (_rx, words, _msg) in designer.PATTERNS.items()],
            )
            self.fields["pattern_message_ja"] = forms.CharField(
                label=_("合わないときの案内（日本語）"),
                required=False,
                max_length=200,
                help_text=_("空のままなら決まった案内を使います"),
            )
            self.fields["pattern_message_en"] = forms.CharField(
                label=_("合わないときの案内（英語）"), required=False, max_length=200
            )
        if ftype == "number":
            self.fields["min_value"] = forms.IntegerField(label=_("最小値"), required=False)
            self.fields["max_value"] = forms.IntegerField(label=_("最大値"), required=False)
            self.fields["counts_copies"] = forms.BooleanField(
                label=_("この数を通数として手数料に使う"),
                required=False,
                help_text=_("手数料の決め方が「1通あたりの額 × 通数」のときに使います"),
            )
        if ftype == "address":
            self.fields["postal_lookup"] = forms.BooleanField(
                label=_("郵便番号から住所を探せるようにする"), required=False
            )
        if ftype == "file":
            self.fields["accept"] = forms.MultipleChoiceField(
                label=_("受け付けるファイルの種類"),
                choices=[("pdf", "PDF"), ("png", "PNG"), ("jpeg", "JPEG")],
                widget=forms.CheckboxSelectMultiple,
            )
            self.fields["max_size_mb"] = forms.IntegerField(
                label=_("大きさの上限（MB）"), min_value=1, max_value=formschema.MAX_FILE_MB
            )
        if self.has_choices:
            for n in range(self.choice_rows):
                self.fields[f"choice-{n}-value"] = forms.CharField(
                    required=False, widget=forms.HiddenInput
                )
                self.fields[f"choice-{n}-ja"] = forms.CharField(
                    label=_("選択肢%(n)s（日本語）") % {"n": n + 1}, required=False, max_length=200
                )
                self.fields[f"choice-{n}-en"] = forms.CharField(
                    label=_("選択肢%(n)s（英語）") % {"n": n + 1}, required=False, max_length=200
                )
                self.fields[f"choice-{n}-fee"] = forms.IntegerField(
                    label=_("選択肢%(n)sの手数料（円）") % {"n": n + 1},
                    required=False,
                    min_value=0,
                )

    @property
    def has_choices(self) -> bool:
        return self.kind in ("choice", "multi_choice")

    @property
    def choice_rows(self) -> int:
        existing = len((self.existing or {}).get("choices", []))
        asked = 0
        if self.data:
            asked = sum(1 for key in self.data if key.endswith("-ja") and key.startswith("choice-"))
            if "more_choices" in self.data:
                asked += EXTRA_CHOICE_ROWS
        return max(existing + EXTRA_CHOICE_ROWS, asked, EXTRA_CHOICE_ROWS)

    def choice_row_fields(self) -> list[dict[str, Any]]:
        return [
            {
                "value": self[f"choice-{n}-value"],
                "ja": self[f"choice-{n}-ja"],
                "en": self[f"choice-{n}-en"],
                "fee": self[f"choice-{n}-fee"],
            }
            for n in range(self.choice_rows)
        ]

    def clean(self):
        data = super().clean()
        if (
            data.get("min_length")
            and data.get("max_length")
            and data["min_length"] > data["max_length"]
        ):
            self.add_error("max_length", _("最大文字数は最小文字数以上にしてください。"))
        if (
            data.get("min_value") is not None
            and data.get("max_value") is not None
            and data["min_value"] > data["max_value"]
        ):
            self.add_error("max_value", _("最大値は最小値以上にしてください。"))
        if self.has_choices:
            rows = [
                n for n in range(self.choice_rows) if (data.get(f"choice-{n}-ja") or "").strip()
            ]
            if not rows:
                self.add_error("choice-0-ja", _("選択肢を一つ以上入れてください。"))
            for n in range(self.choice_rows):
                if not (data.get(f"choice-{n}-ja") or "").strip() and (
                    (data.get(f"choice-{n}-en") or "").strip() or data.get(f"choice-{n}-fee")
                ):
                    self.add_error(f"choice-{n}-ja", _("日本語の選択肢を入れてください。"))
        return data

    def to_field(self, fid: str) -> dict:
        """The question as the definition stores it."""
        data = self.cleaned_data
        base = dict(designer.KINDS[self.kind].base)
        field: dict[str, Any] = {"id": fid, **base}
        field["label"] = _localised(data["label_ja"], data["label_en"])
        help_text = _localised(data.get("help_ja", ""), data.get("help_en", ""))
        if help_text:
            field["help"] = help_text
        if data.get("required"):
            field["required"] = True
        for key in ("min_length", "max_length", "min_value", "max_value", "max_size_mb"):
            if key in self.fields:
                if data.get(key) is not None:
                    field[key] = data[key]
                else:
                    field.pop(key, None)
        if "counts_copies" in self.fields:
            if data.get("counts_copies"):
                field["counts_copies"] = True
        if "postal_lookup" in self.fields:
            if data.get("postal_lookup"):
                field["postal_lookup"] = True
            else:
                field.pop("postal_lookup", None)
        if "accept" in self.fields:
            field["accept"] = [k for k in ("pdf", "png", "jpeg") if k in data["accept"]]
        if data.get("pattern"):
            rx, _words, message = designer.PATTERNS[data["pattern"]]
            field["pattern"] = rx
            field["pattern_message"] = _localised(
                data.get("pattern_message_ja") or message["ja"],
                data.get("pattern_message_en")
                or (message["en"] if not data.get("pattern_message_ja") else ""),
            )
        if self.has_choices:
            field["choices"] = self._choices()
        condition = designer.parse_condition(data.get("show_if", ""), self.definition)
        if condition:
            field["show_if"] = condition
        return field

    def _choices(self) -> list[dict]:
        data = self.cleaned_data
        taken = {(data.get(f"choice-{n}-value") or "") for n in range(self.choice_rows)}
        out = []
        for n in range(self.choice_rows):
            ja = (data.get(f"choice-{n}-ja") or "").strip()
            if not ja:
                continue
            value = data.get(f"choice-{n}-value") or designer.next_id("c", taken)
            taken.add(value)
            choice: dict[str, Any] = {
                "value": value,
                "label": _localised(ja, data.get(f"choice-{n}-en", "")),
            }
            if data.get(f"choice-{n}-fee"):
                choice["fee"] = data[f"choice-{n}-fee"]
            out.append(choice)
        return out


def _initial(field: dict | None) -> dict[str, Any]:
    if field is None:
        return {
            "required": True,
            "postal_lookup": True,
            "accept": ["pdf", "png", "jpeg"],
            "max_size_mb": 10,
        }
    initial: dict[str, Any] = {
        "label_ja": field["label"].get("ja", ""),
        "label_en": field["label"].get("en", ""),
        "help_ja": (field.get("help") or {}).get("ja", ""),
        "help_en": (field.get("help") or {}).get("en", ""),
        "required": bool(field.get("required")),
        "show_if": designer.condition_value(field.get("show_if")),
        "postal_lookup": bool(field.get("postal_lookup")),
        "counts_copies": bool(field.get("counts_copies")),
        "accept": field.get("accept", ["pdf", "png", "jpeg"]),
        "max_size_mb": field.get("max_size_mb", formschema.MAX_FILE_MB),
    }
    for key in ("min_length", "max_length", "min_value", "max_value"):
        if key in field:
            initial[key] = field[key]
    for key, (rx, _words, _message) in designer.PATTERNS.items():
        if field.get("pattern") == rx:
            initial["pattern"] = key
    if field.get("pattern_message"):
        initial["pattern_message_ja"] = field["pattern_message"].get("ja", "")
        initial["pattern_message_en"] = field["pattern_message"].get("en", "")
    for n, choice in enumerate(field.get("choices", [])):
        initial[f"choice-{n}-value"] = choice["value"]
        initial[f"choice-{n}-ja"] = choice["label"].get("ja", "")
        initial[f"choice-{n}-en"] = choice["label"].get("en", "")
        initial[f"choice-{n}-fee"] = choice.get("fee")
    return initial


class PageForm(forms.Form):
    """A page's title and the routes taken after it ("if 転入元 is 国外, go to page 3")."""

    title_ja = forms.CharField(label=_("ページの見出し（日本語）"), max_length=100, required=False)
    title_en = forms.CharField(label=_("ページの見出し（英語）"), max_length=100, required=False)

    def __init__(self, *args, definition: dict, page_id: str, **kwargs):
        self.definition = definition
        self.page_id = page_id
        page = next(p for p in formschema.pages_of(definition) if p["id"] == page_id)
        pages = formschema.pages_of(definition)
        index = [p["id"] for p in pages].index(page_id)
        routes = page.get("routes", [])
        initial = {
            "title_ja": (page.get("title") or {}).get("ja", ""),
            "title_en": (page.get("title") or {}).get("en", ""),
        }
        for n, route in enumerate(routes):
            initial[f"route-{n}-when"] = designer.condition_value(route)
            initial[f"route-{n}-goto"] = route["goto"]
        super().__init__(*args, initial=initial, **kwargs)
        last_field = page["fields"][-1]["id"] if page.get("fields") else None
        # Conditions on this page's questions or earlier ones (a route cannot wait for a later
        # answer): every option up to the end of this page.
        up_to_here = {"pages": [dict(p, routes=[]) for p in pages[: index + 1]]}
        conditions = designer.condition_options(up_to_here, None)
        targets = [
            (p["id"], formschema.page_name(definition, p["id"])) for p in pages[index + 2 :]
        ] + [(formschema.END, _("確認の画面（残りのページを飛ばす）"))]
        self.route_rows = max(len(routes) + 1, ROUTE_ROWS)
        for n in range(self.route_rows):
            when_choices = [("", _("（使わない）")), *conditions]
            current = initial.get(f"route-{n}-when", "")
            if current and current not in dict(conditions):
                when_choices.append(
                    (current, _("（削除された質問か選択肢です。選び直してください）"))
                )
            goto_choices = [("", _("（選んでください）")), *targets]
            goto = initial.get(f"route-{n}-goto", "")
            if goto and goto not in dict(targets):
                goto_choices.append((goto, _("（次のページか前のページ: 選び直してください）")))
            self.fields[f"route-{n}-when"] = forms.ChoiceField(
                label=_("分岐%(n)s: 答えが") % {"n": n + 1}, choices=when_choices, required=False
            )
            self.fields[f"route-{n}-goto"] = forms.ChoiceField(
                label=_("分岐%(n)s: 進む先") % {"n": n + 1}, choices=goto_choices, required=False
            )
        self.last_field = last_field

    def route_row_fields(self) -> list[dict[str, Any]]:
        return [
            {"when": self[f"route-{n}-when"], "goto": self[f"route-{n}-goto"]}
            for n in range(self.route_rows)
        ]

    def clean(self):
        data = super().clean()
        for n in range(self.route_rows):
            when, goto = data.get(f"route-{n}-when"), data.get(f"route-{n}-goto")
            if when and not goto:
                self.add_error(f"route-{n}-goto", _("進む先を選んでください。"))
            if goto and not when:
                self.add_error(f"route-{n}-when", _("どの答えのときに進むかを選んでください。"))
        return data

    def routes(self) -> list[dict]:
        out = []
        for n in range(self.route_rows):
            when = self.cleaned_data.get(f"route-{n}-when")
            goto = self.cleaned_data.get(f"route-{n}-goto")
            condition = designer.parse_condition(when or "", self.definition)
            if condition and goto:
                out.append({**condition, "goto": goto})
        return out

    def title(self) -> dict | None:
        return _localised(self.cleaned_data["title_ja"], self.cleaned_data["title_en"])


class PublishForm(forms.Form):
    when = forms.ChoiceField(
        label=_("公開する日"),
        choices=[("now", _("今すぐ公開する")), ("date", _("日付を決めて公開する"))],
        widget=forms.RadioSelect,
        initial="now",
    )
    publish_on = forms.DateField(
        label=_("公開する日付"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("その日の0時から新しい申請はこの版で受け付けます"),
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        if data.get("when") == "date":
            day = data.get("publish_on")
            if day is None:
                self.add_error("publish_on", _("公開する日付を入れてください。"))
            elif day <= self.today:
                self.add_error(
                    "publish_on",
                    _("明日以降の日付にしてください。今日なら「今すぐ公開する」を選びます。"),
                )
        return data

    def publish_on_value(self) -> date | None:
        return (
            self.cleaned_data.get("publish_on") if self.cleaned_data.get("when") == "date" else None
        )


class ImportForm(forms.Form):
    """JSON for power users: pasted or as a file, checked by the same schema."""

    definition = forms.CharField(
        label=_("様式の定義（JSON）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"}),
    )
    file = forms.FileField(label=_("またはJSONファイル"), required=False)

    def clean(self):
        data = super().clean()
        if not data.get("definition") and not data.get("file"):
            self.add_error("definition", _("JSONを貼り付けるか、ファイルを選んでください。"))
        return data

    def text(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload:
            return upload.read(2_000_000).decode("utf-8", errors="replace")
        return self.cleaned_data["definition"]
