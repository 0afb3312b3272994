"""What a person reads: yen with separators and one date style per language.

Japanese pages write 「282,000円」 and 「2026年11月2日」; English pages write "282,000 yen" and
"Nov 2, 2026". Templates use these filters instead of printing the raw value, so a page never
mixes styles (STYLE.md, "What a person reads").
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import dateformat, timezone
from django.utils.translation import get_language

register = template.Library()

# Django's format characters; the weekday (D) comes out in the active language.
_DATE = {"ja": "Y年n月j日", "en": "M j, Y"}
_MONTH_DAY_WEEKDAY = {"ja": "n月j日（D）", "en": "D, M j"}
_DATE_TIME = {"ja": "Y年n月j日 H:i", "en": "M j, Y H:i"}


def _lang() -> str:
    return "en" if (get_language() or "ja").startswith("en") else "ja"


def yen_text(amount: int | None, *, lang: str | None = None) -> str:
    """282000 → 「282,000円」 (ja) or "282,000 yen" (en); an empty string for no amount."""
    if amount is None or amount == "":
        return ""
    try:
        value = int(amount)
    except (TypeError, ValueError):
        return ""
    if (lang or _lang()) == "en":
        return f"{value:,} yen"
    return f"{value:,}円"


def _as_date(value) -> dt.date | dt.datetime | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value) if timezone.is_aware(value) else value
    if isinstance(value, dt.date):
        return value
    return None


@register.filter
def yen(amount) -> str:
    return yen_text(amount)


@register.filter
def day(value) -> str:
    """A date (or the date of a time): 「2026年11月2日」 / "Nov 2, 2026"."""
    value = _as_date(value)
    return dateformat.format(value, _DATE[_lang()]) if value is not None else ""


@register.filter
def day_short(value) -> str:
    """Month, day and weekday for near dates: 「11月2日（月）」 / "Mon, Nov 2"."""
    value = _as_date(value)
    return dateformat.format(value, _MONTH_DAY_WEEKDAY[_lang()]) if value is not None else ""


@register.filter
def day_time(value) -> str:
    """A moment: 「2026年11月2日 09:30」 / "Nov 2, 2026 09:30"."""
    value = _as_date(value)
    return dateformat.format(value, _DATE_TIME[_lang()]) if value is not None else ""


@register.filter
def fiscal_year(year) -> str:
    """A fiscal year (April to March): 「2026年度」 / "FY2026"."""
    if year in (None, ""):
        return ""
    return f"FY{year}" if _lang() == "en" else f"{year}年度"
