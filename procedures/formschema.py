"""Form definitions: their JSON Schema, semantic checks, and validating a resident's answers.

Pure functions, no ORM: admin pages, services, the API and the seed share them. A definition is

    {"fields": [{"id": "name", "type": "text", "label": {"ja": "氏名", "en": "Name"},
                 "required": true, "max_length": 40, "prefill": "name",
                 "help": {"ja": "...", "en": "..."},
                 "show_if": {"field": "other", "equals": "yes"}}, ...]}

Messages for people are in the language of the request (gettext, English in locale/en), each
naming the field by its label in that language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import get_language
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
_TEXT_TYPES = ("text", "long_text", "address", "phone", "email")
_PHONE = re.compile(r"0\d{1,4}-?\d{1,4}-?\d{3,4}")

_LOCALISED = {
    "type": "object",
    "required": ["ja"],
    "properties": {"ja": {"type": "string", "minLength": 1}, "en": {"type": "string"}},
    "additionalProperties": False,
}

FORM_DEFINITION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://machiba.example.jp/schemas/form-definition.json",
    "title": "Machiba form definition",
    "type": "object",
    "required": ["fields"],
    "additionalProperties": False,
    "properties": {
        "fields": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "type", "label"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
                    "type": {"enum": list(FIELD_TYPES)},
                    "label": _LOCALISED,
                    "help": _LOCALISED,
                    "required": {"type": "boolean"},
                    "min_length": {"type": "integer", "minimum": 0},
                    "max_length": {"type": "integer", "minimum": 1},
                    "min_value": {"type": "number"},
                    "max_value": {"type": "number"},
                    "pattern": {"type": "string", "minLength": 1},
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
                    "show_if": {
                        "type": "object",
                        "required": ["field", "equals"],
                        "additionalProperties": False,
                        "properties": {
                            "field": {"type": "string"},
                            "equals": {"type": ["string", "number", "boolean"]},
                        },
                    },
                    "prefill": {"type": "string"},
                    "staff_only": {"type": "boolean"},
                },
            },
        },
    },
}
_SCHEMA_VALIDATOR = Draft202012Validator(FORM_DEFINITION_SCHEMA)


class DefinitionError(ValueError):
    """An invalid form definition; `problems` lists "path: what is wrong" strings."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _path(parts) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def definition_problems(definition: Any) -> list[str]:
    """Every problem with a definition, each as "<JSON path>: <message>"; [] when valid."""
    errors = sorted(_SCHEMA_VALIDATOR.iter_errors(definition), key=lambda e: list(e.absolute_path))
    if errors:
        return [f"{_path(e.absolute_path)}: {e.message}" for e in errors]
    problems: list[str] = []
    fields = definition["fields"]
    seen: dict[str, int] = {}
    for index, field in enumerate(fields):
        fid = field["id"]
        if fid in seen:
            problems.append(
                f"{_path(['fields', index, 'id'])}: duplicate field id {fid!r} "
                f"(first at fields[{seen[fid]}])"
            )
        seen.setdefault(fid, index)
    for index, field in enumerate(fields):
        here = ["fields", index]
        ftype = field["type"]
        if ftype in ("choice", "multi_choice") and "choices" not in field:
            if field.get("prefill") != "household_members":
                problems.append(f"{_path(here)}: {ftype} needs 'choices'")
        if "choices" in field:
            if ftype not in ("choice", "multi_choice"):
                problems.append(f"{_path([*here, 'choices'])}: only choice fields have choices")
            values = [c["value"] for c in field["choices"]]
            if len(values) != len(set(values)):
                problems.append(f"{_path([*here, 'choices'])}: choice values must be unique")
        if ("min_length" in field or "max_length" in field or "pattern" in field) and (
            ftype not in _TEXT_TYPES
        ):
            problems.append(f"{_path(here)}: length and pattern rules apply to text fields only")
        if ("min_value" in field or "max_value" in field) and ftype != "number":
            problems.append(f"{_path(here)}: value ranges apply to number fields only")
        if field.get("min_length", 0) > field.get("max_length", 10**9):
            problems.append(f"{_path([*here, 'min_length'])}: greater than max_length")
        if field.get("min_value", float("-inf")) > field.get("max_value", float("inf")):
            problems.append(f"{_path([*here, 'min_value'])}: greater than max_value")
        if "pattern" in field:
            try:
                re.compile(field["pattern"])
            except re.error as exc:
                problems.append(f"{_path([*here, 'pattern'])}: not a regular expression ({exc})")
        if "prefill" in field:
            source = field["prefill"]
            if source not in PREFILL_SOURCES:
                problems.append(
                    f"{_path([*here, 'prefill'])}: unknown prefill source {source!r} "
                    f"(known: {', '.join(PREFILL_SOURCES)})"
                )
            elif source == "household_members" and ftype != "multi_choice":
                problems.append(
                    f"{_path([*here, 'prefill'])}: household_members fills multi_choice fields"
                )
        if ftype == "mynumber" and not field.get("staff_only"):
            problems.append(f"{_path(here)}: a mynumber field must be staff_only")
        if "show_if" in field:
            target = field["show_if"]["field"]
            if target not in seen:
                problems.append(
                    f"{_path([*here, 'show_if', 'field'])}: refers to unknown field {target!r}"
                )
            elif target == field["id"]:
                problems.append(f"{_path([*here, 'show_if', 'field'])}: a field cannot hide itself")
            elif seen[target] > index:
                problems.append(
                    f"{_path([*here, 'show_if', 'field'])}: {target!r} must come before this field"
                )
    return problems


def check_definition(definition: Any) -> None:
    """Raise DefinitionError listing every problem (the failing JSON paths)."""
    problems = definition_problems(definition)
    if problems:
        raise DefinitionError(problems)


# --- answers -----------------------------------------------------------------------------------


def label(text: dict | None, lang: str = "ja") -> str:
    if not text:
        return ""
    return text.get(lang) or text.get("ja", "")


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
    return [f for f in definition["fields"] if staff or not f.get("staff_only")]


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


def visible_field_ids(definition: dict, answers: dict, *, staff: bool = False) -> set[str]:
    """Fields shown for these answers: a field with show_if is shown when its target is shown
    and has the given value (for a multi-choice, when the value is among those chosen)."""
    shown: set[str] = set()
    for field in fields_for(definition, staff=staff):
        cond = field.get("show_if")
        if cond is None or (
            cond["field"] in shown and _matches(answers.get(cond["field"]), cond["equals"])
        ):
            shown.add(field["id"])
    return shown


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _clean_value(field: dict, raw: Any, ctx: Context) -> Any:  # noqa: C901 - one branch per type
    """Coerce and check one non-blank value; raise ValueError with the person's message."""
    ftype = field["type"]
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


def fee_for(definition: dict, answers: dict, *, base_fee: int) -> int:
    """The fee in yen: the procedure's fee plus the fee of every chosen option that has one
    (粗大ごみ: each item has its own price)."""
    total = base_fee
    shown = visible_field_ids(definition, answers, staff=True)
    for field in definition["fields"]:
        if field["id"] not in shown or "choices" not in field:
            continue
        chosen = answers.get(field["id"])
        chosen = chosen if isinstance(chosen, list) else [chosen]
        total += sum(c.get("fee", 0) for c in field["choices"] if c["value"] in chosen)
    return total
