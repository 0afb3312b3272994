"""Money and dates as each language writes them: 12,300円 / 12,300 yen; 2026年3月31日 / 31 Mar
2026; fiscal years as 令和8年度 / FY2026."""

from __future__ import annotations

from datetime import date

from django import template
from django.utils.translation import get_language

register = template.Library()


def _english() -> bool:
    return (get_language() or "ja").startswith("en")


def format_yen(value) -> str:
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return ""
    return f"{amount:,} yen" if _english() else f"{amount:,}円"


@register.filter
def yen(value) -> str:
    return format_yen(value)


@register.filter
def jdate(value) -> str:
    if not isinstance(value, date):
        return ""
    return (
        value.strftime("%-d %b %Y") if _english() else f"{value.year}年{value.month}月{value.day}日"
    )


def format_fiscal(value) -> str:
    """A fiscal year: 令和8年度（2026年度） in Japanese, FY2026 in English."""
    try:
        year = int(value)
    except (TypeError, ValueError):
        return ""
    if _english():
        return f"FY{year}"
    reiwa = year - 2018
    return f"令和{'元' if reiwa == 1 else reiwa}年度（{year}年度）" if reiwa >= 1 else f"{year}年度"


@register.filter
def fiscal(value) -> str:
    return format_fiscal(value)
