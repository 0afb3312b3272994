"""What a person reads, in their language: yen with separators, one date style per language.

`{% load localformat %}` then `{{ amount|yen }}` (1,200円 / 1,200 yen) and `{{ day|day }}`
(2026年4月1日 / 1 April 2026). Certificates keep 和暦 (their own helper); these are for pages.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import dateformat, timezone
from django.utils.translation import get_language

register = template.Library()


def _english() -> bool:
    return (get_language() or "ja").startswith("en")


@register.filter
def yen(value) -> str:
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return ""
    return f"{amount:,} yen" if _english() else f"{amount:,}円"


@register.filter
def day(value) -> str:
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    if not isinstance(value, date):
        return ""
    return dateformat.format(value, "j F Y" if _english() else "Y年n月j日")


@register.filter
def daytime(value) -> str:
    if not isinstance(value, datetime):
        return day(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return dateformat.format(local, "j F Y H:i" if _english() else "Y年n月j日 H:i")


@register.filter
def local(value) -> str:
    """A text stored in both languages ({"ja": …, "en": …}) in the reader's; a plain string
    as it is."""
    if isinstance(value, dict):
        return (value.get("en") if _english() else "") or value.get("ja", "")
    return "" if value is None else str(value)
