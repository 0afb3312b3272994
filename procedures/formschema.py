"""Form definitions: their JSON Schema, semantic checks, and validating a resident's answers.

Pure functions, no ORM: the designer, admin pages, services, the API and the seed share them. A
definition is either the first format, one page of fields:

    {"fields": [{"id": "name", "type": "text", "label": {"ja": "氏名", "en": "Name"},
                 "required": true, "max_length": 40, "prefill": "name",
                 "help": {"ja": "...", "en": "..."},
                 "show_if": {"field": "other", "equals": "yes"}}, ...]}

or pages of fields, each page with routes taken after it ("if 転入元 is 国外, go to page p3"):

    {"pages": [{"id": "p1", "title": {"ja": "...", "en": "..."}, "fields": [...],
                "routes": [{"field": "moved_from", "equals": "abroad", "goto": "p3"}]}, ...]}

Published versions of either format keep rendering: every reader goes through `all_fields` and
`pages_of`. Two levels of checks: `definition_problems` (the structure: what a version must have
to be stored at all) and `publish_problems` (what blocks publishing: conditions pointing at
deleted questions, routes that loop, missing English). Messages for people are in the language
of the request (gettext, English in locale/en), each naming the question by its label.

Kept in one file: a pure module like the formats; the schema, the semantic checks and answer
validation read the same definition shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from cityhall.japanese import normalize_address, normalize_text
from residents.mynumber import is_valid as mynumber_is_valid
from residents.mynumber import mask as mynumber_mask

FIELD_TYPES = (
    "text",
    "long_text",
    "number",
    "date",
    "choice",
    "multi_choice",
    "yes_no",
    "address",
    "phone",
    "email",
    "file",
    "mynumber",
)
# What a person reads for each type (the designer, the diff and the import messages).
TYPE_LABELS = {
    "text": gettext_lazy("1行の文字"),
    "long_text": gettext_lazy("複数行の文字"),
    "number": gettext_lazy("数"),
    "date": gettext_lazy("日付"),
    "choice": gettext_lazy("一つを選ぶ"),
    "multi_choice": gettext_lazy("いくつでも選ぶ"),
    "yes_no": gettext_lazy("はい・いいえ"),
    "address": gettext_lazy("住所"),
    "phone": gettext_lazy("電話番号"),
    "email": gettext_lazy("メールアドレス"),
    "file": gettext_lazy("ファイルの添付"),
    "mynumber": gettext_lazy("個人番号"),
}
# Where a field's initial value may come from (see selectors.prefill_values).
PREFILL_SOURCES = (
    "name",
    "name_kana",
    "family_name",
    "given_name",
    "birth_date",
    "sex",
    "address",
    "postal_code",
    "household_members",
)
# File types a file question may accept (procedures.sniff checks the bytes, not the name).
FILE_KINDS = {
    "pdf": ("application/pdf", ".pdf"),
    "png": ("image/png", ".png"),
    "jpeg": ("image/jpeg", ".jpg,.jpeg"),
}
MAX_FILE_MB = 10
# A route's target after the last page: the check-your-answers page (確認画面).
END = "end"
_TEXT_TYPES = ("text", "long_text", "address", "phone", "email")
_PHONE = re.compile(r"0\d{1,4}-?\d{1,4}-?\d{3,4}")
_POSTAL = re.compile(r"(\d{3})-?(\d{4})")

_LOCALISED = {
    "type": "object",
    "required": ["ja"],
    "properties": {"ja": {"type": "string", "minLength": 1}, "en": {"type": "string"}},
    "additionalProperties": False,
}
_ID = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"}
_CONDITION = {
    "type": "object",
    "required": ["field", "equals"],
    "additionalProperties": False,
    "properties": {
        "field": {"type": "string"},
        "equals": {"type": ["string", "number", "boolean"]},
    },
}
_FIELD = {
    "type": "object",
    "required": ["id", "type", "label"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "type": {"enum": list(FIELD_TYPES)},
        "label": _LOCALISED,
        "help": _LOCALISED,
        "required": {"type": "boolean"},
        "min_length": {"type": "integer", "minimum": 0},
        "max_length": {"type": "integer", "minimum": 1},
        "min_value": {"type": "number"},
        "max_value": {"type": "number"},
        "pattern": {"type": "string", "minLength": 1},
        # What a person reads when the pattern does not match ("7桁の数字で…").
        "pattern_message": _LOCALISED,
        "choices": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["value", "label"],
                "additionalProperties": False,
                "properties": {
                    "value": {"type": "string", "minLength": 1},
                    "label": _LOCALISED,
                    "fee": {"type": "integer", "minimum": 0},
                },
            },
        },
        "show_if": _CONDITION,
        "prefill": {"type": "string"},
        "staff_only": {"type": "boolean"},
        # address: a postal code box that looks the town up (procedures.postal).
        "postal_lookup": {"type": "boolean"},
        # file: the kinds accepted and the largest size.
        "accept": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"enum": list(FILE_KINDS)},
        },
        "max_size_mb": {"type": "integer", "minimum": 1, "maximum": MAX_FILE_MB},
        # number: the number of copies a per-copy fee multiplies.
        "counts_copies": {"type": "boolean"},
    },
}
_PAGE = {
    "type": "object",
    "required": ["id", "fields"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "title": _LOCALISED,
        "fields": {"type": "array", "items": _FIELD},
        "routes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "equals", "goto"],
                "additionalProperties": False,
                "properties": {
                    "field": {"type": "string"},
                    "equals": {"type": ["string", "number", "boolean"]},
                    "goto": {"type": "string"},
                },
            },
        },
    },
}

FORM_DEFINITION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://machiba.example.jp/schemas/form-definition.json",
    "title": "Machiba form definition",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fields": {"type": "array", "minItems": 1, "items": _FIELD},
        "pages": {"type": "array", "minItems": 1, "items": _PAGE},
    },
    "oneOf": [{"required": ["fields"]}, {"required": ["pages"]}],
}
_SCHEMA_VALIDATOR = Draft202012Validator(FORM_DEFINITION_SCHEMA)


class DefinitionError(ValueError):
    """An invalid form definition; `problems` lists what is wrong, in words."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# --- reading a definition ----------------------------------------------------------------------


def pages_of(definition: dict) -> list[dict]:
    """The pages in order; a definition of the first format is one page called "p1"."""
    if "pages" in definition:
        return definition["pages"]
    return [{"id": "p1", "fields": definition.get("fields", [])}]


def all_fields(definition: dict) -> list[dict]:
    """Every field of every page, in order."""
    return [field for page in pages_of(definition) for field in page.get("fields", [])]


def field_map(definition: dict) -> dict[str, dict]:
    return {field["id"]: field for field in all_fields(definition)}


def page_of_field(definition: dict) -> dict[str, str]:
    """field id -> the id of its page."""
    return {f["id"]: page["id"] for page in pages_of(definition) for f in page.get("fields", [])}


def label(text: dict | None, lang: str = "ja") -> str:
    if not text:
        return ""
    return text.get(lang) or text.get("ja", "")


def _lang() -> str:
    return "en" if (get_language() or "ja").startswith("en") else "ja"


def field_name(field: dict) -> str:
    """A question as a person names it: its label in the page's language (or its id)."""
    return label(field.get("label"), _lang()) or field["id"]


def page_name(definition: dict, page_id: str) -> str:
    """「2ページ目「国外からの転入」」 / "page 2 (Moving from abroad)"."""
    for number, page in enumerate(pages_of(definition), start=1):
        if page["id"] == page_id:
            title = label(page.get("title"), _lang())
            if title:
                return _("%(n)sページ目「%(title)s」") % {"n": number, "title": title}
            return _("%(n)sページ目") % {"n": number}
    return page_id


def option_label(field: dict | None, value: Any) -> str:
    """The words of an answer a condition or a route waits for."""
    if field is None:
        return str(value)
    if field["type"] == "yes_no" or isinstance(value, bool):
        return _("はい") if value in (True, "yes", "true") else _("いいえ")
    for choice in field.get("choices", []):
        if choice["value"] == str(value):
            return label(choice["label"], _lang())
    return str(value)


# --- structure: what a version must have to be stored at all -----------------------------------


def _where(definition: Any, parts: list) -> str:
    """Where in the definition a problem is, in words: 「2ページ目の3番目の質問（ID: email）」."""
    if not isinstance(definition, dict):
        return _("定義の全体")
    fields_key = "pages" if "pages" in definition else "fields"
    try:
        if fields_key == "fields" and len(parts) >= 2 and parts[0] == "fields":
            field = definition["fields"][parts[1]]
            fid = field.get("id", "?") if isinstance(field, dict) else "?"
            return _("%(n)s番目の質問（ID: %(id)s）") % {"n": parts[1] + 1, "id": fid}
        if fields_key == "pages" and len(parts) >= 2 and parts[0] == "pages":
            page_no = parts[1] + 1
            if len(parts) >= 4 and parts[2] == "fields":
                field = definition["pages"][parts[1]]["fields"][parts[3]]
                fid = field.get("id", "?") if isinstance(field, dict) else "?"
                return _("%(p)sページ目の%(n)s番目の質問（ID: %(id)s）") % {
                    "p": page_no,
                    "n": parts[3] + 1,
                    "id": fid,
                }
            if len(parts) >= 4 and parts[2] == "routes":
                return _("%(p)sページ目の%(n)s番目の分岐") % {"p": page_no, "n": parts[3] + 1}
            return _("%(p)sページ目") % {"p": page_no}
    except (IndexError, KeyError, TypeError):
        pass
    return _("定義の全体")


_SETTING_NAMES = {
    "id": gettext_lazy("ID"),
    "type": gettext_lazy("種類"),
    "label": gettext_lazy("見出し"),
    "help": gettext_lazy("説明"),
    "title": gettext_lazy("ページの見出し"),
    "required": gettext_lazy("必須かどうか"),
    "min_length": gettext_lazy("最小文字数"),
    "max_length": gettext_lazy("最大文字数"),
    "min_value": gettext_lazy("最小値"),
    "max_value": gettext_lazy("最大値"),
    "pattern": gettext_lazy("入力の形（正規表現）"),
    "pattern_message": gettext_lazy("形が違うときの案内"),
    "choices": gettext_lazy("選択肢"),
    "show_if": gettext_lazy("表示する条件"),
    "prefill": gettext_lazy("住民記録からの入力"),
    "staff_only": gettext_lazy("職員だけが入力"),
    "postal_lookup": gettext_lazy("郵便番号から住所を探す"),
    "accept": gettext_lazy("受け付けるファイルの種類"),
    "max_size_mb": gettext_lazy("ファイルの大きさの上限"),
    "counts_copies": gettext_lazy("通数として手数料に使う"),
    "routes": gettext_lazy("分岐"),
    "goto": gettext_lazy("進む先"),
    "fields": gettext_lazy("質問"),
    "pages": gettext_lazy("ページ"),
    "value": gettext_lazy("選択肢の値"),
    "fee": gettext_lazy("手数料"),
    "field": gettext_lazy("条件の質問"),
    "equals": gettext_lazy("条件の答え"),
    "ja": gettext_lazy("日本語"),
    "en": gettext_lazy("英語"),
}


def _setting(parts: list) -> str:
    """The setting a problem is in: 「最大文字数」, 「見出し（英語）」."""
    names = [p for p in parts if isinstance(p, str)]
    if not names:
        return ""
    if names[-1] in ("ja", "en") and len(names) >= 2:
        return f"{_SETTING_NAMES.get(names[-2], names[-2])}（{_SETTING_NAMES[names[-1]]}）"
    return str(_SETTING_NAMES.get(names[-1], names[-1]))


def _schema_message(definition: Any, error) -> str:
    """One JSON Schema error in words a non-programmer can act on."""
    parts = list(error.absolute_path)
    where = _where(definition, parts)
    setting = _setting(parts)
    validator = error.validator
    if validator == "enum" and parts and parts[-1] == "type":
        allowed = "、".join(f"{k}（{TYPE_LABELS[k]}）" for k in FIELD_TYPES)
        return _("%(where)s: 種類「%(value)s」は使えません。使える種類: %(allowed)s") % {
            "where": where,
            "value": error.instance,
            "allowed": allowed,
        }
    if validator == "enum":
        return _("%(where)s: %(setting)s「%(value)s」は使えません。") % {
            "where": where,
            "setting": setting,
            "value": error.instance,
        }
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return _("%(where)s: %(setting)sがありません。") % {
            "where": where,
            "setting": _SETTING_NAMES.get(missing, missing),
        }
    if validator == "additionalProperties":
        return _("%(where)s: 知らない設定があります（%(detail)s）。") % {
            "where": where,
            "detail": error.message.split("(")[-1].rstrip(")"),
        }
    if validator == "oneOf" and not parts:
        return _(
            "定義には「fields」（質問の一覧）か「pages」（ページの一覧）のどちらか一つが必要です。"
        )
    if validator == "type":
        expected = {
            "string": _("文字"),
            "integer": _("整数"),
            "number": _("数"),
            "boolean": _("true か false"),
            "array": _("一覧（[ ]）"),
            "object": _("{ } のまとまり"),
        }
        wanted = error.validator_value
        wanted = wanted if isinstance(wanted, list) else [wanted]
        return _("%(where)s: %(setting)sは%(expected)sで書いてください。") % {
            "where": where,
            "setting": setting,
            "expected": " / ".join(str(expected.get(w, w)) for w in wanted),
        }
    if validator == "pattern" and parts and parts[-1] == "id":
        return _(
            "%(where)s: ID「%(value)s」は、英小文字で始まる英小文字・数字・_ の40文字以内にしてください。"
        ) % {"where": where, "value": error.instance}
    if validator in ("minLength", "minItems"):
        return _("%(where)s: %(setting)sが空です。") % {"where": where, "setting": setting}
    if validator in ("minimum", "maximum"):
        return _("%(where)s: %(setting)sの値 %(value)s は範囲の外です。") % {
            "where": where,
            "setting": setting,
            "value": error.instance,
        }
    return _("%(where)s: %(setting)sが正しくありません（%(detail)s）。") % {
        "where": where,
        "setting": setting,
        "detail": error.message,
    }


def definition_problems(definition: Any) -> list[str]:
    """Every structural problem of a definition, in words naming the page and question; []
    when it may be stored (a draft may still have publishing blockers: `publish_problems`)."""
    errors = sorted(_SCHEMA_VALIDATOR.iter_errors(definition), key=lambda e: list(e.absolute_path))
    if errors:
        return [_schema_message(definition, e) for e in errors]
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, field in enumerate(all_fields(definition)):
        fid = field["id"]
        if fid in seen:
            problems.append(
                _("質問のID「%(id)s」が二つあります（%(a)s番目と%(b)s番目）。")
                % {"id": fid, "a": seen[fid] + 1, "b": index + 1}
            )
        seen.setdefault(fid, index)
    page_ids = [page["id"] for page in pages_of(definition)]
    for pid in {p for p in page_ids if page_ids.count(p) > 1}:
        problems.append(_("ページのID「%(id)s」が二つあります。") % {"id": pid})
    for field in all_fields(definition):
        problems += _field_structure_problems(field)
    return problems


def _field_structure_problems(field: dict) -> list[str]:  # noqa: C901 - one rule per setting
    name = field_name(field)
    ftype = field["type"]
    out: list[str] = []

    def say(message: str, **values: Any) -> None:
        out.append(message % ({"name": name} | values))

    if ftype in ("choice", "multi_choice") and "choices" not in field:
        if field.get("prefill") != "household_members":
            say(_("「%(name)s」: 選択肢がありません。"))
    if "choices" in field:
        if ftype not in ("choice", "multi_choice"):
            say(_("「%(name)s」: 選択肢を持てるのは選ぶ質問だけです。"))
        values = [c["value"] for c in field["choices"]]
        if len(values) != len(set(values)):
            say(_("「%(name)s」: 同じ値の選択肢が二つあります。"))
    if ("min_length" in field or "max_length" in field or "pattern" in field) and (
        ftype not in _TEXT_TYPES
    ):
        say(_("「%(name)s」: 文字数と入力の形は、文字を入力する質問だけに設定できます。"))
    if ("min_value" in field or "max_value" in field or "counts_copies" in field) and (
        ftype != "number"
    ):
        say(_("「%(name)s」: 値の範囲と通数は、数の質問だけに設定できます。"))
    if ("accept" in field or "max_size_mb" in field) and ftype != "file":
        say(_("「%(name)s」: ファイルの種類と大きさは、ファイルの質問だけに設定できます。"))
    if "postal_lookup" in field and ftype != "address":
        say(_("「%(name)s」: 郵便番号からの検索は、住所の質問だけに設定できます。"))
    if field.get("min_length", 0) > field.get("max_length", 10**9):
        say(_("「%(name)s」: 最小文字数が最大文字数より大きくなっています。"))
    if field.get("min_value", float("-inf")) > field.get("max_value", float("inf")):
        say(_("「%(name)s」: 最小値が最大値より大きくなっています。"))
    if "pattern" in field:
        try:
            re.compile(field["pattern"])
        except re.error as exc:
            say(_("「%(name)s」: 入力の形（正規表現）が読めません（%(detail)s）。"), detail=exc)
    if "prefill" in field:
        source = field["prefill"]
        if source not in PREFILL_SOURCES:
            say(_("「%(name)s」: 住民記録の「%(source)s」という項目はありません。"), source=source)
        elif source == "household_members" and ftype != "multi_choice":
            say(_("「%(name)s」: 世帯員は「いくつでも選ぶ」質問で選びます。"))
    if ftype == "mynumber" and not field.get("staff_only"):
        say(_("「%(name)s」: 個人番号は窓口で職員だけが入力する質問にしてください。"))
    return out


def check_definition(definition: Any) -> None:
    """Raise DefinitionError listing every structural problem."""
    problems = definition_problems(definition)
    if problems:
        raise DefinitionError(problems)


# --- what blocks publishing ----------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One item of the checklist of what blocks publishing: the message, and the question or
    page it concerns (the designer links there to fix it)."""

    code: str
    message: str
    field: str = ""
    page: str = ""


def _missing_english(text: dict | None) -> bool:
    return bool(text and text.get("ja") and not (text.get("en") or "").strip())


def publish_problems(definition: dict) -> list[Problem]:  # noqa: C901 - one rule per check
    """What must be fixed before a structurally valid definition may be published."""
    problems: list[Problem] = []
    pages = pages_of(definition)
    fields = all_fields(definition)
    if not fields:
        problems.append(Problem("no_questions", _("質問が一つもありません。")))
    by_id = {f["id"]: f for f in fields}
    position = {f["id"]: i for i, f in enumerate(fields)}
    page_index = {page["id"]: i for i, page in enumerate(pages)}
    field_page = page_of_field(definition)
    for number, page in enumerate(pages, start=1):
        if len(pages) > 1 and not page.get("fields"):
            problems.append(
                Problem(
                    "empty_page",
                    _("%(page)sに質問がありません。") % {"page": page_name(definition, page["id"])},
                    page=page["id"],
                )
            )
        if _missing_english(page.get("title")):
            problems.append(
                Problem(
                    "missing_english",
                    _("%(page)sの見出しに英語がありません。")
                    % {"page": page_name(definition, page["id"])},
                    page=page["id"],
                )
            )
        for route_no, route in enumerate(page.get("routes", []), start=1):
            problems += _route_problems(
                definition, page, number, route_no, route, by_id, field_page, page_index
            )
    for field in fields:
        name = field_name(field)
        fid = field["id"]
        missing = [
            str(what)
            for what, text in (
                (_("見出し"), field.get("label")),
                (_("説明"), field.get("help")),
                (_("形が違うときの案内"), field.get("pattern_message")),
            )
            if _missing_english(text)
        ]
        if any(_missing_english(c["label"]) for c in field.get("choices", [])):
            missing.append(_("選択肢"))
        if missing:
            problems.append(
                Problem(
                    "missing_english",
                    _("「%(name)s」の%(what)sに英語がありません。")
                    % {"name": name, "what": "・".join(missing)},
                    field=fid,
                )
            )
        if "pattern" in field and "pattern_message" not in field:
            problems.append(
                Problem(
                    "pattern_without_message",
                    _("「%(name)s」の入力の形に、合わないときの案内がありません。")
                    % {"name": name},
                    field=fid,
                )
            )
        cond = field.get("show_if")
        if cond is None:
            continue
        target = by_id.get(cond["field"])
        if target is None:
            problems.append(
                Problem(
                    "condition_deleted",
                    _("「%(name)s」を表示する条件が、削除された質問を指しています。")
                    % {"name": name},
                    field=fid,
                )
            )
        elif cond["field"] == fid or position[cond["field"]] > position[fid]:
            problems.append(
                Problem(
                    "condition_later",
                    _("「%(name)s」を表示する条件が、あとにある質問「%(target)s」を指しています。")
                    % {"name": name, "target": field_name(target)},
                    field=fid,
                )
            )
        elif not _answer_exists(target, cond["equals"]):
            problems.append(
                Problem(
                    "condition_answer_deleted",
                    _(
                        "「%(name)s」を表示する条件の答え「%(value)s」が、「%(target)s」の選択肢にありません。"
                    )
                    % {"name": name, "value": cond["equals"], "target": field_name(target)},
                    field=fid,
                )
            )
    return problems


def _answer_exists(field: dict, value: Any) -> bool:
    if field["type"] == "yes_no":
        return isinstance(value, bool) or value in ("yes", "no", "true", "false")
    if "choices" in field:
        return str(value) in {c["value"] for c in field["choices"]}
    return True


def _route_problems(
    definition, page, number, route_no, route, by_id, field_page, page_index
) -> list[Problem]:
    where = _("%(page)sの分岐%(n)s") % {"page": page_name(definition, page["id"]), "n": route_no}
    target = by_id.get(route["field"])
    if target is None:
        return [
            Problem(
                "route_deleted",
                _("%(where)sが、削除された質問を指しています。") % {"where": where},
                page=page["id"],
            )
        ]
    out = []
    if page_index[field_page[route["field"]]] > page_index[page["id"]]:
        out.append(
            Problem(
                "route_later",
                _("%(where)sが、あとのページの質問「%(target)s」を指しています。")
                % {"where": where, "target": field_name(target)},
                page=page["id"],
            )
        )
    if not _answer_exists(target, route["equals"]):
        out.append(
            Problem(
                "route_answer_deleted",
                _("%(where)sの答え「%(value)s」が、「%(target)s」の選択肢にありません。")
                % {"where": where, "value": route["equals"], "target": field_name(target)},
                page=page["id"],
            )
        )
    goto = route["goto"]
    if goto != END and goto not in page_index:
        out.append(
            Problem(
                "route_goto_deleted",
                _("%(where)sの進む先のページがありません。") % {"where": where},
                page=page["id"],
            )
        )
    elif goto != END and page_index[goto] <= page_index[page["id"]]:
        # Answers do not change while the path is walked: a route back is taken again every
        # time, so it never ends (GOV.UK Forms refuses routes to an earlier page too).
        out.append(
            Problem(
                "route_loop",
                _("%(where)sが同じページか前のページに戻るため、申請が終わらなくなります。")
                % {"where": where},
                page=page["id"],
            )
        )
    return out


# --- answers -----------------------------------------------------------------------------------


def _msg(field: dict, message: str, **values: Any) -> str:
    """`message` (a gettext string with %(label)s) filled with the field's label in the
    language of the request."""
    lang = "en" if (get_language() or "ja").startswith("en") else "ja"
    return message % ({"label": label(field["label"], lang) or field["id"]} | values)


@dataclass(frozen=True)
class Context:
    """What a validation depends on besides the answers."""

    staff: bool = False
    # field id -> allowed values for choices computed per applicant (household members)
    dynamic_choices: dict[str, list[str]] | None = None
    # field id -> number of attachments uploaded for it
    attachment_counts: dict[str, int] | None = None
    # field id -> the My Number sealed for it: the answers hold only its mask (********9084)
    sealed_mynumbers: dict[str, str] | None = None


def fields_for(definition: dict, *, staff: bool) -> list[dict]:
    """The fields a person fills: residents never see staff-only fields."""
    return [f for f in all_fields(definition) if staff or not f.get("staff_only")]


def _as_bool(raw: Any) -> bool | None:
    if raw in (True, "yes", "true", "on", "1"):
        return True
    if raw in (False, "no", "false", "0"):
        return False
    return None


def _matches(value: Any, expected: Any) -> bool:
    if isinstance(value, list):
        return expected in value
    if isinstance(expected, bool):
        return _as_bool(value) is expected
    return value is not None and str(value) == str(expected)


def page_path(definition: dict, answers: dict, *, staff: bool = False) -> list[str]:
    """The ids of the pages a person goes through with these answers: from the first page on,
    after each page its first route whose question is shown and has the given answer, else the
    next page; a route to "end" goes to the confirmation. A route that does not go forward is
    never followed (publishing refuses it: `publish_problems`)."""
    return _walk(definition, answers, staff=staff)[0]


def visible_field_ids(definition: dict, answers: dict, *, staff: bool = False) -> set[str]:
    """Fields shown for these answers: those on the pages of the path whose show_if target is
    shown and has the given value (for a multi-choice, when the value is among those chosen)."""
    return _walk(definition, answers, staff=staff)[1]


def _walk(definition: dict, answers: dict, *, staff: bool) -> tuple[list[str], set[str]]:
    pages = pages_of(definition)
    index = {page["id"]: i for i, page in enumerate(pages)}
    path: list[str] = []
    shown: set[str] = set()
    i = 0
    while i < len(pages):
        page = pages[i]
        path.append(page["id"])
        for field in page.get("fields", []):
            if field.get("staff_only") and not staff:
                continue
            cond = field.get("show_if")
            if cond is None or (
                cond["field"] in shown and _matches(answers.get(cond["field"]), cond["equals"])
            ):
                shown.add(field["id"])
        following = i + 1
        for route in page.get("routes", []):
            if route["field"] in shown and _matches(answers.get(route["field"]), route["equals"]):
                following = len(pages) if route["goto"] == END else index.get(route["goto"], i + 1)
                break
        i = max(following, i + 1)
    return path, shown


def page_fields(definition: dict, page_id: str, *, staff: bool) -> list[dict]:
    """The fields of one page a person fills."""
    for page in pages_of(definition):
        if page["id"] == page_id:
            return [f for f in page.get("fields", []) if staff or not f.get("staff_only")]
    return []


def _blank(value: Any) -> bool:
    if isinstance(value, dict):
        return not any(str(v or "").strip() for v in value.values())
    return value is None or value == "" or value == []


def _clean_value(field: dict, raw: Any, ctx: Context) -> Any:  # noqa: C901 - one branch per type
    """Coerce and check one non-blank value; raise ValueError with the person's message."""
    ftype = field["type"]
    if ftype == "address" and field.get("postal_lookup"):
        return _clean_postal_address(field, raw)
    if ftype in _TEXT_TYPES:
        if not isinstance(raw, str):
            raise ValueError(_msg(field, _("「%(label)s」は文字で入力してください")))
        value = normalize_text(raw) if ftype != "long_text" else raw.strip()
        if ftype == "address":
            value = normalize_address(value)
        if "min_length" in field and len(value) < field["min_length"]:
            n = field["min_length"]
            raise ValueError(_msg(field, _("「%(label)s」は%(n)s文字以上で入力してください"), n=n))
        if "max_length" in field and len(value) > field["max_length"]:
            n = field["max_length"]
            raise ValueError(_msg(field, _("「%(label)s」は%(n)s文字以内で入力してください"), n=n))
        if "pattern" in field and re.fullmatch(field["pattern"], value) is None:
            if field.get("pattern_message"):
                # The designer's plain-language rule ("7桁の数字で入力してください").
                rule = label(field["pattern_message"], _lang())
                raise ValueError(_msg(field, _("「%(label)s」: %(rule)s"), rule=rule))
            raise ValueError(_msg(field, _("「%(label)s」の形式が正しくありません")))
        if ftype == "phone" and _PHONE.fullmatch(value) is None:
            raise ValueError(
                _msg(field, _("「%(label)s」は 03-1234-5678 のような電話番号で入力してください"))
            )
        if ftype == "email":
            try:
                validate_email(value)
            except DjangoValidationError:
                raise ValueError(
                    _msg(field, _("「%(label)s」は name@example.jp のような形式で入力してください"))
                ) from None
        return value
    if ftype == "number":
        try:
            value = int(normalize_text(str(raw)).replace(",", ""))
        except ValueError:
            raise ValueError(_msg(field, _("「%(label)s」は整数で入力してください"))) from None
        if "min_value" in field and value < field["min_value"]:
            n = field["min_value"]
            raise ValueError(_msg(field, _("「%(label)s」は%(n)s以上にしてください"), n=n))
        if "max_value" in field and value > field["max_value"]:
            n = field["max_value"]
            raise ValueError(_msg(field, _("「%(label)s」は%(n)s以下にしてください"), n=n))
        return value
    if ftype == "date":
        try:
            return date.fromisoformat(str(raw)).isoformat()
        except ValueError:
            raise ValueError(
                _msg(field, _("「%(label)s」は 2026-04-01 のような日付で入力してください"))
            ) from None
    if ftype in ("choice", "multi_choice"):
        allowed = _allowed_values(field, ctx)
        values = raw if isinstance(raw, list) else [raw]
        if ftype == "choice" and len(values) != 1:
            raise ValueError(_msg(field, _("「%(label)s」は一つ選んでください")))
        if any(str(v) not in allowed for v in values):
            raise ValueError(_msg(field, _("「%(label)s」の選択肢から選んでください")))
        values = [str(v) for v in values]
        return values[0] if ftype == "choice" else sorted(set(values), key=values.index)
    if ftype == "yes_no":
        answer = _as_bool(raw)
        if answer is not None:
            return answer
        raise ValueError(_msg(field, _("「%(label)s」は「はい」か「いいえ」を選んでください")))
    if ftype == "mynumber":
        sealed = (ctx.sealed_mynumbers or {}).get(field["id"])
        if sealed and str(raw) == mynumber_mask(sealed):
            # Checked when it was sealed; the answers keep the mask, never the number.
            return str(raw)
        digits = normalize_text(str(raw))
        if not mynumber_is_valid(digits):
            raise ValueError(
                _msg(field, _("「%(label)s」は12桁の正しい個人番号を入力してください"))
            )
        return digits
    raise ValueError(_msg(field, _("「%(label)s」は入力できません")))


def normalize_postal_code(raw: str) -> str | None:
    """「１９０ー００１１」, "1900011" -> "190-0011"; None when it is not 7 digits."""
    text = normalize_text(str(raw or "")).replace("〒", "").replace("ー", "-").replace(" ", "")
    match = _POSTAL.fullmatch(text)
    return f"{match[1]}-{match[2]}" if match else None


def _clean_postal_address(field: dict, raw: Any) -> dict:
    """An address question with a postal code box: {"postal_code": "190-0011", "address": …}."""
    if isinstance(raw, str):
        raw = {"postal_code": "", "address": raw}
    if not isinstance(raw, dict):
        raise ValueError(_msg(field, _("「%(label)s」は文字で入力してください")))
    postal = str(raw.get("postal_code") or "").strip()
    address = normalize_address(normalize_text(str(raw.get("address") or "")))
    if not address:
        raise ValueError(_msg(field, _("「%(label)s」を入力してください")))
    if "max_length" in field and len(address) > field["max_length"]:
        n = field["max_length"]
        raise ValueError(_msg(field, _("「%(label)s」は%(n)s文字以内で入力してください"), n=n))
    code = ""
    if postal:
        code = normalize_postal_code(postal)
        if code is None:
            raise ValueError(
                _msg(field, _("「%(label)s」の郵便番号は 190-0011 のように7桁で入力してください"))
            )
    return {"postal_code": code, "address": address}


def address_text(value: Any) -> str:
    """An address answer as one line: 〒190-0011 東京都まちば市本町… (or the plain text)."""
    if isinstance(value, dict):
        postal = value.get("postal_code") or ""
        return (
            f"〒{postal} {value.get('address', '')}".strip() if postal else value.get("address", "")
        )
    return "" if value is None else str(value)


def _allowed_values(field: dict, ctx: Context) -> list[str]:
    if field.get("prefill") == "household_members":
        return list((ctx.dynamic_choices or {}).get(field["id"], []))
    return [c["value"] for c in field.get("choices", [])]


def validate_answers(
    definition: dict, answers: dict, ctx: Context | None = None
) -> tuple[dict, dict]:
    """Check answers against a definition.

    Returns (cleaned, errors): cleaned holds only the shown fields' values, normalised; errors maps
    a field id to its messages. Hidden fields are neither required nor kept; file fields are
    satisfied by attachments (ctx.attachment_counts), never by a value in the answers.
    """
    ctx = ctx or Context()
    shown = visible_field_ids(definition, answers, staff=ctx.staff)
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field in fields_for(definition, staff=ctx.staff):
        fid = field["id"]
        if fid not in shown:
            continue
        if field["type"] == "file":
            if field.get("required") and not (ctx.attachment_counts or {}).get(fid):
                errors[fid] = [_msg(field, _("「%(label)s」のファイルを添付してください"))]
            continue
        raw = answers.get(fid)
        if isinstance(raw, str):
            raw = raw.strip()
        if _blank(raw):
            if field.get("required"):
                errors[fid] = [_msg(field, _("「%(label)s」を入力してください"))]
            continue
        try:
            cleaned[fid] = _clean_value(field, raw, ctx)
        except ValueError as exc:
            errors[fid] = [str(exc)]
    return cleaned, errors


FEE_RULES = ("none", "fixed", "per_copy", "by_choice")


def copies(definition: dict, answers: dict) -> int:
    """The number of copies asked for (the number question marked counts_copies; 1 without)."""
    shown = visible_field_ids(definition, answers, staff=True)
    for field in all_fields(definition):
        if field.get("counts_copies") and field["id"] in shown:
            try:
                return max(int(answers.get(field["id"]) or 0), 0)
            except (TypeError, ValueError):
                return 0
    return 1


def fee_for(definition: dict, answers: dict, *, rule: str = "by_choice", amount: int = 0) -> int:
    """The fee in yen by the procedure's fee rule:

    - none: free;
    - fixed: `amount`;
    - per_copy: `amount` for each copy (住民票の写し 1通300円: 手数料条例);
    - by_choice: `amount` (may be 0) plus the fee of every chosen option that has one
      (粗大ごみ: each item has its own price).
    """
    if rule == "none":
        return 0
    if rule == "fixed":
        return amount
    if rule == "per_copy":
        return amount * copies(definition, answers)
    total = amount
    shown = visible_field_ids(definition, answers, staff=True)
    for field in all_fields(definition):
        if field["id"] not in shown or "choices" not in field:
            continue
        chosen = answers.get(field["id"])
        chosen = chosen if isinstance(chosen, list) else [chosen]
        total += sum(c.get("fee", 0) for c in field["choices"] if c["value"] in chosen)
    return total
