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
