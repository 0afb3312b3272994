"""Business days of a Japanese city hall.

A city hall is closed on Saturdays, Sundays, national holidays (国民の祝日に関する法律, including
振替休日 and 国民の休日) and from 29 December to 3 January (地方自治法4条の2: the holidays of a
local government are set by ordinance within those limits, and every municipality's ordinance
names these days). A time limit that ends on such a day moves to the next business day
(地方自治法4条の2 第4項, 地方税法20条の5 第2項).
"""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday
from django.utils.translation import gettext, gettext_noop

_SATURDAY = 5


def _is_year_end_closure(d: date) -> bool:
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


def is_business_day(d: date) -> bool:
    """Whether the city hall is open on ``d``."""
    return d.weekday() < _SATURDAY and not _is_year_end_closure(d) and not jpholiday.is_holiday(d)


def next_business_day(d: date) -> date:
    """``d`` itself when it is a business day, otherwise the first business day after it."""
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def add_business_days(d: date, n: int) -> date:
    """The ``n``-th business day after ``d`` (before it when ``n`` is negative).

    ``d`` itself is not counted, and need not be a business day: ``add_business_days(friday, 1)``
    is the next Monday that is open. ``n == 0`` returns ``d`` unchanged.
    """
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    while remaining:
        d += step
        if is_business_day(d):
            remaining -= 1
    return d


# The names jpholiday gives (国民の祝日に関する法律 2条, 3条), marked for the English catalogue.
HOLIDAY_NAMES = (
    gettext_noop("元日"),
    gettext_noop("成人の日"),
    gettext_noop("建国記念の日"),
    gettext_noop("天皇誕生日"),
    gettext_noop("春分の日"),
    gettext_noop("昭和の日"),
    gettext_noop("憲法記念日"),
    gettext_noop("みどりの日"),
    gettext_noop("こどもの日"),
    gettext_noop("海の日"),
    gettext_noop("山の日"),
    gettext_noop("敬老の日"),
    gettext_noop("秋分の日"),
    gettext_noop("スポーツの日"),
    gettext_noop("体育の日"),
    gettext_noop("文化の日"),
    gettext_noop("勤労感謝の日"),
    gettext_noop("国民の休日"),
    gettext_noop("天皇の即位の日"),
    gettext_noop("即位礼正殿の儀"),
)
_SUBSTITUTE = " 振替休日"


def holiday_name(d: date) -> str | None:
    """The national holiday on ``d`` in the active language, or None."""
    name = jpholiday.is_holiday_name(d)
    if not name:
        return None
    if name.endswith(_SUBSTITUTE):
        # 振替休日 (祝日法3条2項): the Monday after a holiday that fell on a Sunday.
        return gettext("%(holiday)sの振替休日") % {"holiday": gettext(name[: -len(_SUBSTITUTE)])}
    return gettext(name)


def closure_reason(d: date) -> str | None:
    """Why the city hall is closed on ``d`` (in the active language), or None when it is open."""
    if _is_year_end_closure(d):
        return gettext("年末年始の休み")
    name = holiday_name(d)
    if name:
        return name
    if d.weekday() == _SATURDAY:
        return gettext("土曜日")
    if d.weekday() == _SATURDAY + 1:
        return gettext("日曜日")
    return None


def closures_between(start: date, end: date) -> list[tuple[date, date, str]]:
    """The closures from ``start`` to ``end`` that a resident cannot guess from the weekday:
    national holidays on weekdays and the year-end break, as (first day, last day, reason) with
    consecutive days of one reason merged (年末年始 is one entry, 29 Dec to 3 Jan)."""
    closures: list[tuple[date, date, str]] = []
    d = start
    while d <= end:
        if not is_business_day(d) and (d.weekday() < _SATURDAY or _is_year_end_closure(d)):
            reason = closure_reason(d) or ""
            if closures and closures[-1][1] == d - timedelta(days=1) and closures[-1][2] == reason:
                closures[-1] = (closures[-1][0], d, reason)
            else:
                closures.append((d, d, reason))
        d += timedelta(days=1)
    return closures
