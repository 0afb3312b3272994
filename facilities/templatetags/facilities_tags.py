"""How facility pages write money, days and the grid's cells, in the page's language."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cityhall.templatetags import localformat

from ..slots import TOKYO

register = template.Library()

_WEEKDAYS_JA = "月火水木金土日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _en() -> bool:
    return (get_language() or "ja").startswith("en")


# The city's one way of writing an amount, for templates that load only this library.
register.filter("yen", localformat.yen)


def _local(value):
    if isinstance(value, datetime):
        return value.astimezone(TOKYO)
    return value


@register.filter
def day(value) -> str:
    """A date with its weekday: 2026年8月5日(水) / Wed 5 Aug 2026."""
    value = _local(value)
    if not isinstance(value, date):
        return ""
    d = value.date() if isinstance(value, datetime) else value
    if _en():
        return f"{_WEEKDAYS_EN[d.weekday()]} {d.day} {_MONTHS_EN[d.month - 1]} {d.year}"
    return f"{d.year}年{d.month}月{d.day}日({_WEEKDAYS_JA[d.weekday()]})"


@register.filter
def short_day(value) -> str:
    """A grid column heading: 8/5(水) / Wed 8/5."""
    value = _local(value)
    d = value.date() if isinstance(value, datetime) else value
    if not isinstance(d, date):
        return ""
    if _en():
        return f"{_WEEKDAYS_EN[d.weekday()]} {d.month}/{d.day}"
    return f"{d.month}/{d.day}({_WEEKDAYS_JA[d.weekday()]})"


@register.filter
def hm(value) -> str:
    value = _local(value)
    return f"{value:%H:%M}" if value else ""


@register.filter
def when(value) -> str:
    """A moment: its day and time."""
    if not value:
        return ""
    return f"{day(value)} {hm(value)}"


@register.filter
def span(booking) -> str:
    """A booking's time: day, start and end."""
    return f"{day(booking.starts_at)} {hm(booking.starts_at)}–{hm(booking.ends_at)}"


CELL_WORDS = {
    "free": ("○", _("空き")),
    "booked": ("×", _("予約済み")),
    "closed": ("", _("休館")),
    "lottery": ("", _("抽選")),
    "not_yet": ("", _("受付前")),
    "past": ("", _("終了")),
}


@register.filter
def cell_mark(status: str) -> str:
    return CELL_WORDS.get(status, ("", ""))[0]


@register.filter
def cell_words(status: str) -> str:
    words = CELL_WORDS.get(status)
    return str(words[1]) if words else ""


@register.filter
def iso(value) -> str:
    value = _local(value)
    return value.isoformat() if value else ""


@register.filter
def booking_state(value: str) -> str:
    """A booking state code in words (the event history stores codes)."""
    from ..models import Booking

    try:
        return str(Booking.State(value).label)
    except ValueError:
        return ""


@register.filter
def num(value) -> str:
    """A count with thousands separators."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return ""


@register.filter
def hours(value) -> str:
    """Hours to one decimal with thousands separators (usage statistics)."""
    try:
        return f"{float(value):,.1f}"
    except (TypeError, ValueError):
        return ""
