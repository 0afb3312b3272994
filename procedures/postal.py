"""Postal code → address lookup for address questions, from Japan Post's KEN_ALL data.

The bundled table (procedures/data/postal_codes.csv: code, prefecture, city, town and their
readings) is made by `manage.py build_postal_table` from a file in Japan Post's KEN_ALL format
(郵便番号データ, 読み仮名データの促音・拗音を小書きで表記しないもの, 15 columns) for the
city's prefecture. This module holds the pure part: reading KEN_ALL rows, which has known traps,
and looking a code up in the table.

KEN_ALL's traps (Japan Post's readme, and what every parser of it meets):
- a 町域 longer than 38 characters goes on over several rows of the same code: the first opens
  「（」 and a later one closes it;
- notes are not addresses: 「以下に掲載がない場合」, 「○○の次に番地がくる場合」, 「○○一円」 mean
  no town name; a part in 「（ ）」 lists blocks, buildings or floors and is dropped;
- readings are half-width katakana (ｶﾅ), shown here in full width.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "postal_codes.csv"
TABLE_COLUMNS = ("code", "prefecture", "city", "town", "prefecture_kana", "city_kana", "town_kana")
_NO_TOWN = ("以下に掲載がない場合",)
_NO_TOWN_SUFFIX = ("の次に番地がくる場合",)
_NOTE = re.compile(r"（.*?）|\(.*?\)")


@dataclass(frozen=True)
class Place:
    code: str  # 7 digits
    prefecture: str
    city: str
    town: str
    prefecture_kana: str = ""
    city_kana: str = ""
    town_kana: str = ""

    @property
    def address(self) -> str:
        """What the address question is filled with: 東京都まちば市本町."""
        return f"{self.prefecture}{self.city}{self.town}"

    @property
    def display_code(self) -> str:
        return f"{self.code[:3]}-{self.code[3:]}"


def _full_width(text: str) -> str:
    # NFKC turns half-width katakana into full width (ｼﾝｼﾞｭｸ -> シンジュク).
    return unicodedata.normalize("NFKC", text)


def _town(name: str) -> str:
    if name in _NO_TOWN or name.endswith(_NO_TOWN_SUFFIX):
        return ""
    name = _NOTE.sub("", name)
    if name.endswith("一円") and len(name) > 2:
        # 「○○一円」: the whole area, the town name is the place itself (e.g. 奥多摩町一円).
        return ""
    return name.strip()


def _town_kana(kana: str, town: str) -> str:
    if not town:
        return ""
    return _NOTE.sub("", _full_width(kana)).strip()


def parse_ken_all(rows: Iterable[list[str]]) -> Iterator[Place]:
    """Places from KEN_ALL rows (15 columns each), the rows of a long 町域 joined first."""
    pending: list[str] | None = None
    for row in rows:
        if len(row) < 9:
            continue
        if pending is not None and row[2] == pending[2]:
            pending[5] += row[5]
            pending[8] += row[8]
            if pending[8].count("（") <= pending[8].count("）"):
                yield _place(pending)
                pending = None
            continue
        if pending is not None:
            # An unclosed note followed by another code: keep what there is.
            yield _place(pending)
            pending = None
        row = list(row)
        if row[8].count("（") > row[8].count("）"):
            pending = row
            continue
        yield _place(row)
    if pending is not None:
        yield _place(pending)


def _place(row: list[str]) -> Place:
    town = _town(row[8])
    return Place(
        code=row[2].strip(),
        prefecture=row[6],
        city=row[7],
        town=town,
        prefecture_kana=_full_width(row[3]),
        city_kana=_full_width(row[4]),
        town_kana=_town_kana(row[5], town),
    )


def unique_places(places: Iterable[Place]) -> list[Place]:
    """One row per code and address (a code split over blocks appears once), in order."""
    seen: set[tuple[str, str]] = set()
    out = []
    for place in places:
        key = (place.code, place.address)
        if key not in seen:
            seen.add(key)
            out.append(place)
    return out


def write_table(places: Iterable[Place], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(TABLE_COLUMNS)
        for place in places:
            writer.writerow([getattr(place, column) for column in TABLE_COLUMNS])
            count += 1
    return count


@cache
def _table(path: str) -> dict[str, tuple[Place, ...]]:
    by_code: dict[str, list[Place]] = {}
    with open(path, encoding="utf-8", newline="") as source:
        for record in csv.DictReader(source):
            by_code.setdefault(record["code"], []).append(Place(**record))
    return {code: tuple(places) for code, places in by_code.items()}


def normalise(code: str) -> str | None:
    """「１９０－００１１」, "190-0011", "〒1900011" -> "1900011"; None when not 7 digits."""
    digits = re.sub(r"[-ー－‐〒\s]", "", unicodedata.normalize("NFKC", code or ""))
    return digits if re.fullmatch(r"\d{7}", digits) else None


def lookup(code: str, *, city_first: str = "", table: Path = DEFAULT_TABLE) -> list[Place]:
    """The places of a postal code (the city's own towns first); [] when unknown."""
    digits = normalise(code)
    if digits is None:
        return []
    places = list(_table(str(table)).get(digits, ()))
    return sorted(places, key=lambda p: p.city != city_first)
