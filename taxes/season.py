"""When residents may declare online, and the city's options for the calculation.

The declaration period (申告期間) is 16 February to 15 March in most cities, for the fiscal year
of that spring (地方税法317条の2第1項: 3月15日まで); a city sets it with
``MACHIBA_TAX_DECLARATION_PERIOD`` as ``MM-DD..MM-DD`` (every year) or
``YYYY-MM-DD..YYYY-MM-DD`` (one season, e.g. a deadline extended as in 2020 to 16 April).
Outside it residents are pointed to eLTAX / マイナポータル (since 2026 the national filing of the
income tax return reaches the city through マイナポータル) and to the counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ELTAX_URL = "https://www.eltax.lta.go.jp/"
MYNAPORTAL_URL = "https://myna.go.jp/"


@dataclass(frozen=True)
class Season:
    starts: date
    ends: date
    open: bool

    @property
    def fiscal_year(self) -> int:
        return self.starts.year


def _parse(text: str, today: date) -> tuple[date, date]:
    try:
        first, last = (part.strip() for part in text.split(".."))
        if len(first) == 10:
            return date.fromisoformat(first), date.fromisoformat(last)
        fm, fd = (int(x) for x in first.split("-"))
        lm, ld = (int(x) for x in last.split("-"))
        starts = date(today.year, fm, fd)
        ends = date(today.year + (lm < fm), lm, ld)
        return starts, ends
    except ValueError:
        raise ImproperlyConfigured(
            f"MACHIBA_TAX_DECLARATION_PERIOD must be MM-DD..MM-DD or YYYY-MM-DD..YYYY-MM-DD, got {text!r}"
        ) from None


def declaration_season(today: date) -> Season:
    """The season that contains ``today``, or else the next one (for the note outside it)."""
    starts, ends = _parse(settings.TAX_DECLARATION_PERIOD, today)
    if today > ends and len(settings.TAX_DECLARATION_PERIOD.split("..")[0].strip()) != 10:
        starts, ends = _parse(settings.TAX_DECLARATION_PERIOD, date(today.year + 1, 1, 1))
    return Season(starts=starts, ends=ends, open=starts <= today <= ends)


def city_options() -> dict:
    """Keyword arguments of ``residenttax.assess`` for this city."""
    return {
        "grade": settings.TAX_CITY_GRADE,
        "designated_city": settings.TAX_DESIGNATED_CITY,
        "per_capita_pref": settings.TAX_PER_CAPITA_PREF,
    }
