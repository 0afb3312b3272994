"""What changed between two versions of a form, in words ("added question 連絡先メール, made
使いみち required"), in the language of the request.

Pure: no ORM. Questions are matched by their id (the designer never changes an id), pages by
theirs; labels are those of the newer version (of the older one for what was removed).
"""

from __future__ import annotations

from difflib import SequenceMatcher

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .formschema import (
    END,
    TYPE_LABELS,
    all_fields,
    field_name,
    label,
    option_label,
    page_name,
    page_of_field,
    pages_of,
)

_LIMITS = (
    ("min_length", gettext_lazy("最小文字数")),
    ("max_length", gettext_lazy("最大文字数")),
    ("min_value", gettext_lazy("最小値")),
    ("max_value", gettext_lazy("最大値")),
    ("max_size_mb", gettext_lazy("ファイルの大きさの上限（MB）")),
)


def describe_changes(old: dict, new: dict) -> list[str]:
    """Every change from `old` to `new`, one sentence each, in form order."""
    lang = _lang()
    out: list[str] = []
    old_fields = {f["id"]: f for f in all_fields(old)}
    new_fields = {f["id"]: f for f in all_fields(new)}
    out += _page_changes(old, new, lang)
    for field in all_fields(new):
        if field["id"] not in old_fields:
            out.append(
                _("質問「%(name)s」（%(type)s）を追加しました")
                % {"name": field_name(field), "type": TYPE_LABELS[field["type"]]}
            )
    for field in all_fields(old):
        if field["id"] not in new_fields:
            out.append(_("質問「%(name)s」を削除しました") % {"name": field_name(field)})
    for field in all_fields(new):
        before = old_fields.get(field["id"])
        if before is not None:
            out += _field_changes(before, field, old, new, lang)
    out += _moves(old, new)
    return out


def _lang() -> str:
    from .formschema import _lang as current

    return current()


def _page_changes(old: dict, new: dict, lang: str) -> list[str]:
    out: list[str] = []
    old_pages = {p["id"]: p for p in pages_of(old)}
    new_pages = {p["id"]: p for p in pages_of(new)}
    if len(old_pages) == 1 and len(new_pages) == 1:
        return []
    for page in pages_of(new):
        if page["id"] not in old_pages:
            out.append(
                _("%(page)sを追加しました（ページの区切り）") % {"page": page_name(new, page["id"])}
            )
    for page in pages_of(old):
        if page["id"] not in new_pages:
            out.append(_("%(page)sの区切りを外しました") % {"page": page_name(old, page["id"])})
    for page in pages_of(new):
        before = old_pages.get(page["id"])
        if before is None:
            continue
        where = page_name(new, page["id"])
        if label(before.get("title"), lang) != label(page.get("title"), lang):
            out.append(
                _("%(page)sの見出しを「%(old)s」から「%(new)s」に変えました")
                % {
                    "page": where,
                    "old": label(before.get("title"), lang) or _("なし"),
                    "new": label(page.get("title"), lang) or _("なし"),
                }
            )
        old_routes = [_route_text(old, r) for r in before.get("routes", [])]
        new_routes = [_route_text(new, r) for r in page.get("routes", [])]
        for text in new_routes:
            if text not in old_routes:
                out.append(
                    _("%(page)sに分岐を加えました: %(route)s") % {"page": where, "route": text}
                )
        for text in old_routes:
            if text not in new_routes:
                out.append(
                    _("%(page)sの分岐をなくしました: %(route)s") % {"page": where, "route": text}
                )
    return out


def _route_text(definition: dict, route: dict) -> str:
    fields = {f["id"]: f for f in all_fields(definition)}
    target = fields.get(route["field"])
    goto = _("確認の画面") if route["goto"] == END else page_name(definition, route["goto"])
    return _("「%(name)s」が「%(value)s」なら%(goto)sへ") % {
        "name": field_name(target) if target else route["field"],
        "value": option_label(target, route["equals"]),
        "goto": goto,
    }


def _condition_text(definition: dict, cond: dict | None) -> str:
    if not cond:
        return ""
    fields = {f["id"]: f for f in all_fields(definition)}
    target = fields.get(cond["field"])
    return _("「%(name)s」が「%(value)s」のとき") % {
        "name": field_name(target) if target else cond["field"],
        "value": option_label(target, cond["equals"]),
    }


def _field_changes(  # noqa: C901 - one sentence per setting
    before: dict, after: dict, old: dict, new: dict, lang: str
) -> list[str]:
    name = field_name(after)
    out: list[str] = []
    if before["type"] != after["type"]:
        out.append(
            _("「%(name)s」の種類を「%(old)s」から「%(new)s」に変えました")
            % {"name": name, "old": TYPE_LABELS[before["type"]], "new": TYPE_LABELS[after["type"]]}
        )
    for key, what in (("label", _("見出し")), ("help", _("説明"))):
        for text_lang, lang_name in (("ja", _("日本語")), ("en", _("英語"))):
            was = (before.get(key) or {}).get(text_lang, "")
            now = (after.get(key) or {}).get(text_lang, "")
            if was != now:
                out.append(
                    _("「%(name)s」の%(what)s（%(lang)s）を「%(old)s」から「%(new)s」に変えました")
                    % {
                        "name": name,
                        "what": what,
                        "lang": lang_name,
                        "old": was or _("なし"),
                        "new": now or _("なし"),
                    }
                )
    if bool(before.get("required")) != bool(after.get("required")):
        message = (
            _("「%(name)s」を必須にしました")
            if after.get("required")
            else _("「%(name)s」を任意にしました")
        )
        out.append(message % {"name": name})
    for key, what in _LIMITS:
        if before.get(key) != after.get(key):
            out.append(
                _("「%(name)s」の%(what)sを%(old)sから%(new)sにしました")
                % {
                    "name": name,
                    "what": what,
                    "old": before.get(key, _("なし")),
                    "new": after.get(key, _("なし")),
                }
            )
    if before.get("pattern") != after.get("pattern") or before.get("pattern_message") != after.get(
        "pattern_message"
    ):
        out.append(
            _("「%(name)s」の入力の形を「%(new)s」にしました")
            % {"name": name, "new": label(after.get("pattern_message"), lang) or _("なし")}
        )
    out += _choice_changes(name, before, after, lang)
    was, now = (
        _condition_text(old, before.get("show_if")),
        _condition_text(new, after.get("show_if")),
    )
    if was != now:
        if not now:
            out.append(_("「%(name)s」をいつも表示するようにしました") % {"name": name})
        else:
            out.append(
                _("「%(name)s」を表示する条件を「%(cond)s」にしました")
                % {"name": name, "cond": now}
            )
    flags = (
        ("postal_lookup", _("郵便番号から住所を探す")),
        ("counts_copies", _("通数として手数料に使う")),
        ("staff_only", _("職員だけが入力")),
    )
    for key, what in flags:
        if bool(before.get(key)) != bool(after.get(key)):
            message = (
                _("「%(name)s」を「%(what)s」にしました")
                if after.get(key)
                else _("「%(name)s」の「%(what)s」をやめました")
            )
            out.append(message % {"name": name, "what": what})
    if before.get("accept") != after.get("accept"):
        out.append(
            _("「%(name)s」で受け付けるファイルを%(kinds)sにしました")
            % {
                "name": name,
                "kinds": "・".join(k.upper() for k in after.get("accept", ["pdf", "png", "jpeg"])),
            }
        )
    if before.get("prefill") != after.get("prefill"):
        out.append(_("「%(name)s」の住民記録からの入力を変えました") % {"name": name})
    return out


def _choice_changes(name: str, before: dict, after: dict, lang: str) -> list[str]:
    out: list[str] = []
    old_choices = {c["value"]: c for c in before.get("choices", [])}
    new_choices = {c["value"]: c for c in after.get("choices", [])}
    for value, choice in new_choices.items():
        was = old_choices.get(value)
        text = label(choice["label"], lang)
        if was is None:
            out.append(
                _("「%(name)s」に選択肢「%(choice)s」を加えました") % {"name": name, "choice": text}
            )
            continue
        if was["label"] != choice["label"]:
            out.append(
                _("「%(name)s」の選択肢「%(old)s」を「%(new)s」に変えました")
                % {"name": name, "old": label(was["label"], lang), "new": text}
            )
        if was.get("fee", 0) != choice.get("fee", 0):
            out.append(
                _("「%(name)s」の選択肢「%(choice)s」の手数料を%(old)s円から%(new)s円にしました")
                % {
                    "name": name,
                    "choice": text,
                    "old": was.get("fee", 0),
                    "new": choice.get("fee", 0),
                }
            )
    for value, choice in old_choices.items():
        if value not in new_choices:
            out.append(
                _("「%(name)s」の選択肢「%(choice)s」をなくしました")
                % {"name": name, "choice": label(choice["label"], lang)}
            )
    if [v for v in old_choices if v in new_choices] != [v for v in new_choices if v in old_choices]:
        out.append(_("「%(name)s」の選択肢の順番を変えました") % {"name": name})
    return out


def _moves(old: dict, new: dict) -> list[str]:
    """Questions that moved: to another page, or among the others (the ones outside the longest
    run kept in the same order)."""
    out: list[str] = []
    old_order = [f["id"] for f in all_fields(old)]
    new_fields = all_fields(new)
    new_order = [f["id"] for f in new_fields]
    common_old = [fid for fid in old_order if fid in set(new_order)]
    common_new = [fid for fid in new_order if fid in set(old_order)]
    old_pages, new_pages = page_of_field(old), page_of_field(new)
    old_page_numbers = {p["id"]: i for i, p in enumerate(pages_of(old))}
    new_page_numbers = {p["id"]: i for i, p in enumerate(pages_of(new))}
    kept: set[str] = set()
    for block in SequenceMatcher(a=common_old, b=common_new, autojunk=False).get_matching_blocks():
        kept.update(common_new[block.b : block.b + block.size])
    by_id = {f["id"]: f for f in new_fields}
    for index, fid in enumerate(common_new):
        moved_page = len(pages_of(new)) > 1 and new_page_numbers.get(
            new_pages[fid]
        ) != old_page_numbers.get(old_pages[fid])
        if moved_page:
            out.append(
                _("「%(name)s」を%(page)sに移しました")
                % {"name": field_name(by_id[fid]), "page": page_name(new, new_pages[fid])}
            )
        elif fid not in kept:
            if index == 0:
                out.append(_("「%(name)s」を最初に移しました") % {"name": field_name(by_id[fid])})
            else:
                out.append(
                    _("「%(name)s」を「%(after)s」のあとに移しました")
                    % {
                        "name": field_name(by_id[fid]),
                        "after": field_name(by_id[common_new[index - 1]]),
                    }
                )
    return out


def summary(changes: list[str], *, limit: int = 3) -> str:
    """The first changes joined for a list of versions ("…ほか2件")."""
    if not changes:
        return _("変更なし")
    text = "、".join(changes[:limit]) if _lang() == "ja" else "; ".join(changes[:limit])
    if len(changes) > limit:
        text += _("（ほか%(n)s件）") % {"n": len(changes) - limit}
    return text
