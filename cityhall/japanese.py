"""Japanese text normalisation for names, readings, addresses and search.

Residents type the same word in full-width or half-width forms, in hiragana or katakana, with
ASCII or ideographic spaces; the register must hold one form, and search must find all of them.
Pure functions on `str` (jaconv does the character tables), so forms, imports and batch jobs
share them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TypedDict

import jaconv
from django.utils.translation import gettext_lazy

MESSAGE_NOT_KANA = gettext_lazy("フリガナはカタカナで入力してください。")
MESSAGE_NO_TOWN = gettext_lazy("住所に町名がありません。")
MESSAGE_NO_BANCHI = gettext_lazy("住所に番地がありません。")

# Full-width katakana ァ…ヺ (U+30A1–U+30FA), the middle dot ・, the long vowel mark ー and the
# iteration marks ヽヾ; spaces separate family and given names.
_KANA_NAME = re.compile(r"[\u30a1-\u30fa\u30fb\u30fc\u30fd\u30fe ]+")

# A kana followed by a combining (semi-)voiced sound mark, U+3099 or U+309A.
_KANA_WITH_COMBINING_MARK = re.compile(r"[\u3041-\u30ff][\u3099\u309a]")

# What people type between the numbers of an address: hyphens, minus signs, dashes, box-drawing
# lines, the long vowel mark (an IME turns "-" into ー after kana) and wave dashes.
_DASHES = "-‐‑‒–—―−－ー─━〜～~"
_DASH_BETWEEN_DIGITS = re.compile(rf"(?<=[0-9])\s*[{re.escape(_DASHES)}]\s*(?=[0-9])")

_KANJI_DIGITS = dict(zip("〇一二三四五六七八九", range(10), strict=True)) | {"零": 0}
_KANJI_MULTIPLIERS = {"十": 10, "百": 100, "千": 1000}
_KANJI_NUMBER = f"[{''.join(_KANJI_DIGITS)}{''.join(_KANJI_MULTIPLIERS)}]+"
_KANJI_CHOME = re.compile(rf"({_KANJI_NUMBER})(?=丁目)")
# Only after 丁目 or 番 do kanji numerals stand for 番/号: town names such as 三番町 and 五番町
# (千代田区) or 一番町 (仙台市) begin with them and must stay as they are.
_KANJI_BANCHI_GO = re.compile(rf"(?:(?<=丁目)|(?<=番)|(?<=番地))({_KANJI_NUMBER})(?=番地|番|号)")

# The numeric part of an address, tried in this order at each position where digits start.
# Possessive `\d++` stops "512" from being re-split as 51 + 2 when a later part fails.
_BANCHI_AND_GO = r"(?P<banchi>\d++)(?:番地?)?(?:[-の]?(?P<go>\d++)号?)?"
_ADDRESS_NUMBERS = (
    # 3丁目5番12号, 3丁目5-12, 3丁目5番地
    re.compile(rf"(?P<chome>\d++)丁目[ -]?{_BANCHI_AND_GO}"),
    # 3-5-12: three numbers are 丁目-番-号
    re.compile(r"(?P<chome>\d++)-(?P<banchi>\d++)-(?P<go>\d++)号?"),
    # 5-12, 5番12号, 123番地の4, 123
    re.compile(_BANCHI_AND_GO),
)
# A number followed by one of these is part of the town name (北1条西, 東2線) or a malformed
# block, not the start of a building name.
_TOWN_CONTINUATION = tuple("条線丁番号地")


class Address(TypedDict):
    town: str
    chome: int | None
    banchi: str
    go: str | None
    building: str


def _collapse_spaces(s: str) -> str:
    # str.split() without arguments splits on every Unicode space, U+3000 included.
    return " ".join(s.split())


def _compose_sound_marks(s: str) -> str:
    # macOS and some PDFs send が as か + U+3099. Compose only kana: NFC on the whole string would
    # also fold CJK compatibility ideographs (神 U+FA19 → 神 U+795E), which names must keep.
    return _KANA_WITH_COMBINING_MARK.sub(lambda m: unicodedata.normalize("NFC", m[0]), s)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_text(s: str) -> str:
    """Full-width ASCII to half-width, half-width katakana to full-width, one ASCII space.

    Idempotent: normalising twice gives the same string as normalising once.
    """
    # Control characters (NUL above all, which PostgreSQL refuses in text) are never part of a
    # name, an address or a search; they are dropped before anything else.
    s = _CONTROL_CHARACTERS.sub("", s)
    s = jaconv.z2h(s, kana=False, ascii=True, digit=True)
    s = jaconv.h2z(s, kana=True, ascii=False, digit=False)
    return _compose_sound_marks(_collapse_spaces(s))


def to_katakana(s: str) -> str:
    """Hiragana and half-width katakana to full-width katakana; other characters unchanged."""
    return jaconv.hira2kata(jaconv.h2z(s, kana=True, ascii=False, digit=False))


def is_kana(s: str) -> bool:
    """Whether `s`, after `to_katakana`, is only katakana, ー, ・ and spaces (and not blank)."""
    kana = to_katakana(s).replace("\u3000", " ")
    return bool(kana.strip()) and _KANA_NAME.fullmatch(kana) is not None


def normalize_kana_name(s: str) -> str:
    """Return a reading (フリガナ) in full-width katakana with single ASCII spaces.

    Raises ValueError with a bilingual message when anything but kana remains.
    """
    kana = normalize_text(to_katakana(s))
    if not is_kana(kana):
        raise ValueError(MESSAGE_NOT_KANA)
    return kana


def normalize_name(s: str) -> str:
    """Normalise a name in kanji; a full-width space between family and given name is fine.

    The register keeps one ASCII space there, as `normalize_text` does for every field, so a
    name typed with either space is the same name.
    """
    return normalize_text(s)


def _kanji_to_int(numeral: str) -> int:
    if not any(c in _KANJI_MULTIPLIERS for c in numeral):
        # Positional form, as on signs and in vertical writing: 一〇 = 10, 二三 = 23.
        return int("".join(str(_KANJI_DIGITS[c]) for c in numeral))
    total = 0
    digit: int | None = None
    for c in numeral:
        if c in _KANJI_MULTIPLIERS:
            total += (1 if digit is None else digit) * _KANJI_MULTIPLIERS[c]
            digit = None
        else:
            digit = _KANJI_DIGITS[c]
    return total + (digit or 0)


def normalize_address(s: str) -> str:
    """Normalise an address: ASCII digits, "-" between numbers, arabic 丁目 numbers.

    丁目, 番地, 番 and 号 are kept as written; kanji numerals before 丁目 (and before 番/号
    once a 丁目 or 番 precedes them) become arabic: 本町三丁目五番 → 本町3丁目5番.
    """
    s = normalize_text(s)
    s = _DASH_BETWEEN_DIGITS.sub("-", s)
    s = _KANJI_CHOME.sub(lambda m: str(_kanji_to_int(m[1])), s)
    return _KANJI_BANCHI_GO.sub(lambda m: str(_kanji_to_int(m[1])), s)


def parse_address(s: str) -> Address:
    """Split an address in this city (no prefecture or city name) into its parts.

    Accepts 本町3丁目5番12号 メゾン本町201, 本町三丁目5-12 and 本町3-5-12 alike. Returns
    town (町名), chome (丁目, int or None), banchi (番地 or 街区符号), go (号, or 枝番 after
    番地, or None) and building (the rest, possibly ""). Raises ValueError with a bilingual
    message when there is no town name or no 番地.
    """
    address = normalize_address(s)
    for digits in re.finditer(r"\d+", address):
        start = digits.start()
        for pattern in _ADDRESS_NUMBERS:
            numbers = pattern.match(address, start)
            if numbers is None:
                continue
            rest = address[numbers.end() :]
            if rest.startswith(_TOWN_CONTINUATION):
                continue
            town = address[:start].strip()
            if not town:
                raise ValueError(MESSAGE_NO_TOWN)
            chome = numbers.groupdict().get("chome")
            return Address(
                town=town,
                chome=int(chome) if chome is not None else None,
                banchi=numbers["banchi"],
                go=numbers["go"],
                # A room number may follow the 号 after a hyphen: 本町3-5-12-201.
                building=rest.lstrip(" -"),
            )
    if not address or address[0].isdigit():
        raise ValueError(MESSAGE_NO_TOWN)
    raise ValueError(MESSAGE_NO_BANCHI)


def search_key(s: str) -> str:
    """The form to compare in searches: ｶﾀｶﾅ, カタカナ and ひらがな, ＡＢＣ and abc all match."""
    return to_katakana(normalize_text(s)).casefold()
