"""The form designer's operations on a definition: the question palette, adding, changing,
moving and deleting questions, page breaks and routes. Pure functions, no ORM: each takes a
definition and returns a new one (the view stores it as a new version through services).

Question ids are made here and never change (q1, q2, … never reused within a procedure's
history), so conditions, routes, diffs and stored answers keep pointing at the same question
(Open Forms' users lost logic rules when component keys were renamed or moved).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from . import formschema


@dataclass(frozen=True)
class Kind:
    """One entry of the palette: what staff choose ("住所"), and the field it starts as."""

    key: str
    label: Any
    hint: Any
    base: dict


PALETTE: tuple[Kind, ...] = (
    Kind("text", _("1行の文字"), _("名前や短い答え"), {"type": "text"}),
    Kind("long_text", _("複数行の文字"), _("理由や説明など長い答え"), {"type": "long_text"}),
    Kind("number", _("数"), _("通数、人数、金額など"), {"type": "number"}),
    Kind("date", _("日付"), _("和暦でも表示します"), {"type": "date"}),
    Kind("choice", _("一つを選ぶ"), _("選択肢から一つ"), {"type": "choice"}),
    Kind("multi_choice", _("いくつでも選ぶ"), _("選択肢からいくつでも"), {"type": "multi_choice"}),
    Kind("yes_no", _("はい・いいえ"), _("はいかいいえで答える質問"), {"type": "yes_no"}),
    Kind(
        "address",
        _("住所"),
        _("郵便番号を入れると町名まで入ります"),
        {"type": "address", "postal_lookup": True, "max_length": 120},
    ),
    Kind("phone", _("電話番号"), _("03-1234-5678 の形で確かめます"), {"type": "phone"}),
    Kind("email", _("メールアドレス"), _("name@example.jp の形で確かめます"), {"type": "email"}),
    Kind(
        "mynumber",
        _("個人番号（マイナンバー）"),
        _("窓口で職員だけが入力します。伏せ字で表示し、暗号化して保管します"),
        {"type": "mynumber", "staff_only": True},
    ),
    Kind(
        "household",
        _("世帯員の選択"),
        _("申請者の世帯の人から選びます"),
        {"type": "multi_choice", "prefill": "household_members"},
    ),
    Kind(
        "file",
        _("ファイルの添付"),
        _("種類と大きさの上限を決められます"),
        {"type": "file", "accept": ["pdf", "png", "jpeg"], "max_size_mb": 10},
    ),
    Kind(
        "register_name",
        _("住民記録から: 氏名"),
        _("住民記録の氏名が入った状態で始まります"),
        {"type": "text", "prefill": "name", "max_length": 40},
    ),
    Kind(
        "register_kana",
        _("住民記録から: フリガナ"),
        _("住民記録のフリガナが入った状態で始まります"),
        {"type": "text", "prefill": "name_kana", "max_length": 80},
    ),
    Kind(
        "register_birth_date",
        _("住民記録から: 生年月日"),
        _("住民記録の生年月日が入った状態で始まります"),
        {"type": "date", "prefill": "birth_date"},
    ),
    Kind(
        "register_address",
        _("住民記録から: 住所"),
        _("住民記録の住所と郵便番号が入った状態で始まります"),
        {"type": "address", "prefill": "address", "postal_lookup": True, "max_length": 120},
    ),
)
KINDS = {kind.key: kind for kind in PALETTE}
# Plain-language patterns for text questions: the rule and what a person reads when it fails.
PATTERNS = {
    "digits": (
        r"[0-9]+",
        _("数字だけ"),
        {"ja": "数字だけで入力してください", "en": "Enter digits only"},
    ),
    "katakana": (
        r"[ァ-ヶー　 ]+",
        _("カタカナだけ"),
        {"ja": "カタカナで入力してください", "en": "Enter it in katakana"},
    ),
    "alphanumeric": (
        r"[A-Za-z0-9]+",
        _("英字と数字だけ"),
        {"ja": "英字と数字だけで入力してください", "en": "Enter letters and digits only"},
    ),
    "postal_code": (
        r"[0-9]{3}-?[0-9]{4}",
        _("郵便番号（7桁）"),
        {"ja": "190-0011 のように7桁で入力してください", "en": "Enter 7 digits, like 190-0011"},
    ),
}


def kind_of(field: dict) -> str:
    """The palette entry a field was made from (or looks like, for imported ones)."""
    prefill = field.get("prefill")
    if prefill == "household_members":
        return "household"
    for key in ("register_name", "register_kana", "register_birth_date", "register_address"):
        if KINDS[key].base.get("prefill") == prefill and prefill:
            return key
    return field["type"]


def as_pages(definition: dict | None) -> dict:
    """A copy in the pages format (a version of the first format becomes page p1)."""
    if not definition:
        return {"pages": [{"id": "p1", "fields": []}]}
    if "pages" in definition:
        return copy.deepcopy(definition)
    return {"pages": [{"id": "p1", "fields": copy.deepcopy(definition.get("fields", []))}]}


_NUMBERED = re.compile(r"^([a-z]+)(\d+)$")


def next_id(prefix: str, taken: set[str]) -> str:
    """prefix + one more than the highest number used with it (never a reused id)."""
    numbers = [
        int(m[2]) for ident in taken if (m := _NUMBERED.match(ident)) is not None and m[1] == prefix
    ]
    return f"{prefix}{max(numbers, default=0) + 1}"


def ids_in(definitions: list[dict]) -> tuple[set[str], set[str]]:
    """The question and page ids used by any of these versions."""
    fields: set[str] = set()
    pages: set[str] = set()
    for definition in definitions:
        fields.update(f["id"] for f in formschema.all_fields(definition))
        pages.update(p["id"] for p in formschema.pages_of(definition))
    return fields, pages


def _page(definition: dict, page_id: str) -> dict:
    for page in definition["pages"]:
        if page["id"] == page_id:
            return page
    raise KeyError(page_id)


def _locate(definition: dict, fid: str) -> tuple[int, int]:
    for p, page in enumerate(definition["pages"]):
        for i, field in enumerate(page["fields"]):
            if field["id"] == fid:
                return p, i
    raise KeyError(fid)


def add_field(definition: dict, field: dict, *, page_id: str | None = None) -> dict:
    out = as_pages(definition)
    page = _page(out, page_id) if page_id else out["pages"][-1]
    page["fields"].append(field)
    return out


def replace_field(definition: dict, field: dict) -> dict:
    out = as_pages(definition)
    p, i = _locate(out, field["id"])
    out["pages"][p]["fields"][i] = field
    return out


def delete_field(definition: dict, fid: str) -> dict:
    """Remove a question. Conditions and routes that pointed at it stay, and the checklist
    blocks publishing until they are fixed (the confirmation page lists them first)."""
    out = as_pages(definition)
    p, i = _locate(out, fid)
    del out["pages"][p]["fields"][i]
    return out


def references_to(definition: dict, fid: str) -> list[str]:
    """What relies on a question, in words: the conditions of other questions and the routes."""
    out = []
    for field in formschema.all_fields(definition):
        if (field.get("show_if") or {}).get("field") == fid:
            out.append(
                str(_("「%(name)s」を表示する条件")) % {"name": formschema.field_name(field)}
            )
    for page in formschema.pages_of(definition):
        for route in page.get("routes", []):
            if route["field"] == fid:
                out.append(
                    str(_("%(page)sの分岐"))
                    % {"page": formschema.page_name(definition, page["id"])}
                )
    return out


def move_field(definition: dict, fid: str, step: int) -> dict:
    """One place up (step -1) or down (+1); at the top or bottom of a page it crosses into the
    page before or after (the keyboard's way to do what dragging does)."""
    out = as_pages(definition)
    pages = out["pages"]
    p, i = _locate(out, fid)
    fields = pages[p]["fields"]
    j = i + step
    if 0 <= j < len(fields):
        fields[i], fields[j] = fields[j], fields[i]
    elif step < 0 and p > 0:
        pages[p - 1]["fields"].append(fields.pop(i))
    elif step > 0 and p < len(pages) - 1:
        pages[p + 1]["fields"].insert(0, fields.pop(i))
    return out


def reorder(definition: dict, order: list[tuple[str, list[str]]]) -> dict:
    """Put the questions in the order a drag and drop left them: [(page id, [question ids])].
    Every page and question must be named exactly once (else ValueError)."""
    out = as_pages(definition)
    fields = {f["id"]: f for f in formschema.all_fields(out)}
    named = [fid for _page_id, fids in order for fid in fids]
    if sorted(named) != sorted(fields) or sorted(p for p, _f in order) != sorted(
        p["id"] for p in out["pages"]
    ):
        raise ValueError("the order does not name every question and page once")
    placed = dict(order)
    for page in out["pages"]:
        page["fields"] = [fields[fid] for fid in placed[page["id"]]]
    return out


def split_page(definition: dict, after_fid: str, *, new_page_id: str) -> dict:
    """A page break after a question: the questions after it move to a new page."""
    out = as_pages(definition)
    p, i = _locate(out, after_fid)
    page = out["pages"][p]
    rest = page["fields"][i + 1 :]
    page["fields"] = page["fields"][: i + 1]
    out["pages"].insert(p + 1, {"id": new_page_id, "fields": rest})
    return out


def add_page(definition: dict, *, new_page_id: str) -> dict:
    out = as_pages(definition)
    out["pages"].append({"id": new_page_id, "fields": []})
    return out


def remove_page_break(definition: dict, page_id: str) -> dict:
    """Join a page to the one before it (its routes go; the first page has no break)."""
    out = as_pages(definition)
    index = [p["id"] for p in out["pages"]].index(page_id)
    if index == 0:
        raise ValueError("the first page has no break before it")
    page = out["pages"].pop(index)
    out["pages"][index - 1]["fields"].extend(page["fields"])
    return out


def set_page(definition: dict, page_id: str, *, title: dict | None, routes: list[dict]) -> dict:
    out = as_pages(definition)
    page = _page(out, page_id)
    if title:
        page["title"] = title
    else:
        page.pop("title", None)
    if routes:
        page["routes"] = routes
    else:
        page.pop("routes", None)
    return out


def add_certificate_fields(definition: dict, form_fields: tuple[dict, ...]) -> dict:
    """Add the questions a certificate kind reads that the form lacks, on the first page."""
    out = as_pages(definition)
    have = {f["id"] for f in formschema.all_fields(out)}
    for needed in form_fields:
        if needed["id"] not in have:
            out["pages"][0]["fields"].append(copy.deepcopy(needed))
    return out


def condition_options(definition: dict, before_fid: str | None) -> list[tuple[str, str]]:
    """Menu entries for "show if" and routes: (value, words) for every answer of every question
    a condition may wait for (choices, yes/no) that comes before `before_fid` (all when None).
    The value is "<question id>=<answer>"; yes/no answers are "yes" and "no"."""
    out = []
    for field in formschema.all_fields(definition):
        if field["id"] == before_fid:
            break
        name = formschema.field_name(field)
        if field["type"] == "yes_no":
            for value, words in (("yes", _("はい")), ("no", _("いいえ"))):
                out.append(
                    (
                        f"{field['id']}={value}",
                        str(_("「%(name)s」が「%(value)s」")) % {"name": name, "value": words},
                    )
                )
        elif "choices" in field:
            for choice in field["choices"]:
                out.append(
                    (
                        f"{field['id']}={choice['value']}",
                        str(_("「%(name)s」が「%(value)s」"))
                        % {
                            "name": name,
                            "value": formschema.label(choice["label"], formschema._lang()),
                        },
                    )
                )
    return out


def condition_value(condition: dict | None) -> str:
    """A stored condition as its menu value."""
    if not condition:
        return ""
    equals = condition["equals"]
    if isinstance(equals, bool):
        equals = "yes" if equals else "no"
    return f"{condition['field']}={equals}"


def parse_condition(value: str, definition: dict) -> dict | None:
    """A menu value back to {"field", "equals"} (booleans for yes/no questions)."""
    if not value or "=" not in value:
        return None
    fid, equals = value.split("=", 1)
    field = formschema.field_map(definition).get(fid)
    if field is not None and field["type"] == "yes_no":
        return {"field": fid, "equals": equals == "yes"}
    return {"field": fid, "equals": equals}
