"""Template values as a person reads them, in the recipient's language (pure).

Values arrive as JSON (ISO dates, integers). A date field reads 「2026年6月30日」 or
"30 June 2026"; an amount reads 「12,300円」 or "12,300 yen"; a value with an English twin
(`district` / `district_en`) takes the twin in English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
AMOUNT_FIELDS = {"amount", "fee", "outstanding"}


def date_text(value: date, language: str) -> str:
    if language == "en":
        return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return f"{value.year}年{value.month}月{value.day}日"


def yen_text(value: int, language: str) -> str:
    return f"{value:,} yen" if language == "en" else f"{value:,}円"


def display_values(values: Mapping[str, object], language: str) -> dict[str, str]:
    language = "en" if (language or "ja").startswith("en") else "ja"
    out: dict[str, str] = {}
    for name, value in values.items():
        if name.endswith("_en"):
            continue
        if language == "en" and values.get(f"{name}_en") not in (None, ""):
            value = values[f"{name}_en"]
        if value is None:
            out[name] = ""
        elif name in AMOUNT_FIELDS and isinstance(value, int | float):
            out[name] = yen_text(int(value), language)
        elif isinstance(value, str) and _ISO_DATE.match(value):
            out[name] = date_text(date.fromisoformat(value), language)
        else:
            out[name] = str(value)
    return out
