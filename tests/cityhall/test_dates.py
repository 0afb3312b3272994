from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityhall.dates import add_business_days, is_business_day, next_business_day


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        (date(2026, 1, 9), True),  # Friday
        (date(2026, 1, 10), False),  # Saturday
        (date(2026, 1, 11), False),  # Sunday
        (date(2026, 1, 12), False),  # 成人の日
        (date(2026, 1, 13), True),
        (date(2026, 3, 20), False),  # 春分の日
        (date(2026, 5, 1), True),
        (date(2026, 5, 4), False),  # みどりの日
        (date(2026, 5, 5), False),  # こどもの日
        (date(2026, 5, 6), False),  # 振替休日 for 憲法記念日 on a Sunday
        (date(2026, 5, 7), True),
        (date(2025, 12, 26), True),
        (date(2025, 12, 29), False),  # year-end closure, a Monday
        (date(2025, 12, 30), False),
        (date(2025, 12, 31), False),
        (date(2026, 1, 1), False),
        (date(2026, 1, 2), False),
        (date(2026, 1, 3), False),
        (date(2026, 1, 5), True),
        (date(2026, 12, 28), True),
        (date(2027, 1, 4), True),
    ],
)
def test_is_business_day(day, open_):
    assert is_business_day(day) is open_


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 13), date(2026, 1, 13)),
        (date(2026, 1, 10), date(2026, 1, 13)),
        (date(2025, 12, 27), date(2026, 1, 5)),
        (date(2026, 5, 2), date(2026, 5, 7)),
        (date(2026, 12, 29), date(2027, 1, 4)),
    ],
)
def test_next_business_day(day, expected):
    assert next_business_day(day) == expected


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2026, 1, 9), 1, date(2026, 1, 13)),
        (date(2025, 12, 26), 1, date(2026, 1, 5)),
        (date(2026, 4, 30), 3, date(2026, 5, 8)),
        (date(2026, 5, 7), -1, date(2026, 5, 1)),
        (date(2026, 1, 10), 0, date(2026, 1, 10)),
        (date(2026, 1, 10), 1, date(2026, 1, 13)),
        (date(2026, 1, 5), 10, date(2026, 1, 20)),
    ],
)
def test_add_business_days(day, n, expected):
    assert add_business_days(day, n) == expected


@given(
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    n=st.integers(min_value=1, max_value=60),
)
def test_adding_then_subtracting_business_days_returns_to_a_business_day(day, n):
    ahead = add_business_days(day, n)
    assert is_business_day(ahead)
    assert ahead > day
    start = next_business_day(day)
    assert add_business_days(add_business_days(start, n), -n) == start
