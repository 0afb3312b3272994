"""Finding a procedure by what people type: any width or kana (cityhall.japanese.search_key),
the reading of the name (じゅうみんひょう), and the everyday word for it (引越し finds 転入届,
転出届 and 転居届). Pure functions; procedures.selectors turns them into a query.
"""

from __future__ import annotations

from cityhall.japanese import search_key

# Everyday words and the words of the catalogue they mean. Keys and values are compared after
# search_key, so 引っ越し, ひっこし and ﾋｯｺｼ are one key.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "引越し": ("転入", "転出", "転居"),
    "引っ越し": ("転入", "転出", "転居"),
    "引越": ("転入", "転出", "転居"),
    "ひっこし": ("転入", "転出", "転居"),
    "住所変更": ("転入", "転出", "転居"),
    "moving": ("転入", "転出", "転居"),
    "move": ("転入", "転出", "転居"),
    "はんこ": ("印鑑",),
    "ハンコ": ("印鑑",),
    "印鑑証明": ("印鑑登録証明書",),
    "所得証明": ("課税証明書",),
    "住民税": ("課税",),
    "子ども手当": ("児童手当",),
    "出産": ("出生",),
    "赤ちゃん": ("出生", "児童手当"),
    "マイナンバー": ("個人番号",),
    "ごみ": ("ごみ", "ゴミ"),
}
_SYNONYMS = {search_key(k): tuple(search_key(v) for v in vs) for k, vs in SYNONYMS.items()}

RANK_EXACT, RANK_PREFIX, RANK_IN_NAME, RANK_ELSEWHERE = range(4)


def index_texts(*, names: list[str], others: list[str]) -> tuple[str, str]:
    """(search_text, search_names) stored on a procedure. search_names is "|a|b|c|" so that a
    whole name is found by containment of "|key|" and a name's start by "|key"."""
    keys = [search_key(n) for n in names if n and n.strip()]
    text = search_key(" ".join(p for p in [*names, *others] if p))
    return text, "|" + "|".join(keys) + "|" if keys else ""


def alternatives(word: str) -> tuple[str, ...]:
    """What one typed word may match: itself (normalised) and the words it stands for."""
    key = search_key(word)
    return (key, *(alt for alt in _SYNONYMS.get(key, ()) if alt != key))


def words(query: str) -> list[str]:
    return search_key(query).split()


def rank(query: str, search_names: str) -> int:
    """0 when the query is a procedure's whole name (or reading), 1 when a name starts with
    it, 2 when a name contains it, 3 when only the description or other words match."""
    key = search_key(query).strip()
    if not key:
        return RANK_ELSEWHERE
    if f"|{key}|" in search_names:
        return RANK_EXACT
    if f"|{key}" in search_names:
        return RANK_PREFIX
    if key in search_names:
        return RANK_IN_NAME
    return RANK_ELSEWHERE
