"""Turning a form definition into rows a template renders, and a POST back into answers."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from . import formschema
from .certificates.kinds import wareki
from .models import LifeEvent

_INPUT_TYPES = {
    "text": "text",
    "address": "text",
    "phone": "tel",
    "email": "email",
    "number": "number",
    "date": "date",
    "mynumber": "text",
}


def _shown_value(value: Any) -> str:
    """How a show_if value appears among the inputs' values (yes/no radios for booleans)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _lang() -> str:
    return "en" if (get_language() or "ja").startswith("en") else "ja"


def field_rows(
    definition: dict,
    answers: dict,
    errors: dict | None = None,
    *,
    staff: bool = False,
    dynamic: dict[str, list[tuple[str, str]]] | None = None,
    attachments: list | None = None,
) -> list[dict[str, Any]]:
    """Everything a template needs to draw each field, in definition order."""
    lang = _lang()
    errors = errors or {}
    dynamic = dynamic or {}
    shown = formschema.visible_field_ids(definition, answers, staff=staff)
    pages = formschema.page_of_field(definition) if "pages" in definition else {}
    rows = []
    for field in formschema.fields_for(definition, staff=staff):
        fid = field["id"]
        value = answers.get(fid)
        if field.get("prefill") == "household_members":
            options = dynamic.get(fid, [])
        else:
            options = [
                (c["value"], formschema.label(c["label"], lang)) for c in field.get("choices", [])
            ]
        chosen = value if isinstance(value, list) else [value]
        postal = isinstance(value, dict) or field.get("postal_lookup")
        rows.append(
            {"anchor": _anchor(fid, field["type"])}
            | {
                "id": fid,
                "type": field["type"],
                "input_type": _INPUT_TYPES.get(field["type"], "text"),
                "label": formschema.label(field["label"], lang),
                "help": formschema.label(field.get("help"), lang),
                "required": bool(field.get("required")),
                "value": _input_value(value),
                "display": _display(field, value, lang),
                "postal_lookup": bool(postal),
                "postal_value": value.get("postal_code", "") if isinstance(value, dict) else "",
                "accept": _accept(field),
                "max_size_mb": field.get("max_size_mb", formschema.MAX_FILE_MB),
                "yes": value is True,
                "no": value is False,
                "choices": [
                    {"value": v, "label": lbl, "checked": v in chosen} for v, lbl in options
                ],
                "errors": errors.get(fid, []),
                "hidden": fid not in shown,
                "page": pages.get(fid, ""),
                "show_if_field": field.get("show_if", {}).get("field", ""),
                "show_if_equals": _shown_value(field.get("show_if", {}).get("equals", "")),
                "attachments": [a for a in (attachments or []) if a.field_id == fid],
                "max_length": field.get("max_length"),
            }
        )
    return rows


def _input_value(value: Any) -> str:
    if value is None or isinstance(value, list | bool):
        return ""
    if isinstance(value, dict):
        return value.get("address", "")
    return value


def _display(field: dict, value: Any, lang: str) -> str:
    """An answer as a person reads it on the confirmation and case pages: addresses with their
    postal code, dates in 和暦 in Japanese (令和8年4月1日) and as 1 April 2026 in English."""
    if field["type"] == "address":
        return formschema.address_text(value)
    if field["type"] == "date" and isinstance(value, str) and value:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value
        if lang == "en":
            return f"{day.day} {day:%B} {day.year}"
        return f"{wareki(day)}（{day.year}年）"
    if value is None or isinstance(value, list | bool | dict):
        return ""
    return str(value)


def _accept(field: dict) -> str:
    kinds = field.get("accept") or list(formschema.FILE_KINDS)
    return ",".join(formschema.FILE_KINDS[k][1] for k in kinds)


def _anchor(fid: str, ftype: str) -> str:
    """The id of the input an error summary link moves to: the field's own input, or the first
    option of a group (GOV.UK error summary: link to the first input of the answer)."""
    if ftype in ("choice", "multi_choice"):
        return f"id_{fid}_0"
    if ftype == "yes_no":
        return f"id_{fid}_yes"
    return f"id_{fid}"


def uploads_from_request(definition: dict, files, *, staff: bool = False) -> list[tuple[str, Any]]:
    """(field id, file) for every file chosen in the form's file inputs (one input per file
    field, named after the field)."""
    return [
        (field["id"], upload)
        for field in formschema.fields_for(definition, staff=staff)
        if field["type"] == "file"
        for upload in files.getlist(field["id"])
    ]


def answers_from_post(definition: dict, data, *, staff: bool = False) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for field in formschema.fields_for(definition, staff=staff):
        fid = field["id"]
        if field["type"] == "file":
            continue
        if field["type"] == "multi_choice":
            answers[fid] = data.getlist(fid)
        elif field["type"] == "yes_no":
            raw = data.get(fid, "")
            answers[fid] = {"yes": True, "no": False}.get(raw)
        elif field.get("postal_lookup"):
            answers[fid] = {
                "postal_code": data.get(f"{fid}.postal_code", ""),
                "address": data.get(fid, ""),
            }
        else:
            answers[fid] = data.get(fid, "")
    return answers


def error_summary(errors: dict, rows: list[dict] | None = None) -> list[dict[str, str]]:
    """The summary at the top of the page: each message with the id of the input it concerns,
    in the order of the form (messages not tied to a field first)."""
    anchors = {row["id"]: row["anchor"] for row in rows or []}
    order = {fid: index for index, fid in enumerate(anchors)}
    items = sorted(errors.items(), key=lambda item: order.get(item[0], -1))
    return [
        {"anchor": anchors.get(fid, f"field-{fid}" if fid != "__all__" else ""), "message": msg}
        for fid, msgs in items
        for msg in msgs
    ]


class SearchForm(forms.Form):
    q = forms.CharField(label=_("キーワード"), required=False, max_length=100)
    life_event = forms.ChoiceField(
        label=_("ライフイベント"), required=False, choices=[("", _("すべて")), *LifeEvent.choices]
    )


class AttachmentForm(forms.Form):
    field_id = forms.CharField(widget=forms.HiddenInput)
    file = forms.FileField(label=_("ファイル"))


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("コメント"), required=False, widget=forms.Textarea, max_length=2000
    )


class DefinitionForm(forms.Form):
    definition = forms.CharField(
        label=_("様式の定義（JSON）"),
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}),
    )


class VerifyForm(forms.Form):
    code = forms.CharField(label=_("照合番号"), max_length=30)


class CounterStartForm(forms.Form):
    query = forms.CharField(label=_("氏名・フリガナ"), max_length=60)
    birth_date = forms.DateField(
        label=_("生年月日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class CertificatePurposeForm(forms.Form):
    """Why a staff member downloads an issued certificate: written to the audit log."""

    purpose = forms.ChoiceField(
        label=_("利用目的"),
        choices=[],
        help_text=_("証明書のダウンロードは目的とともに監査記録に残ります。"),
    )

    def __init__(self, *args, **kwargs):
        from residents.services import ACCESS_PURPOSES

        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = [
            ("", _("選んでください")),
            *((key, _(label)) for key, label in ACCESS_PURPOSES.items()),
        ]

    def purpose_label(self) -> str:
        from residents.services import ACCESS_PURPOSES

        # The audit log keeps the Japanese label (as residents' record views do).
        return ACCESS_PURPOSES[self.cleaned_data["purpose"]]
