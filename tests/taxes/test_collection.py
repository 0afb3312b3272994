"""Splitting a levy into 普通徴収 installments and 特別徴収 months (pure)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taxes.collection import (
    extra_due_date,
    ordinary_due_dates_after,
    ordinary_installments,
    remittance_due,
    respread,
    special_monthly,
)


def test_four_installments_in_thousands_with_the_rest_on_the_first():
    assert ordinary_installments(94_300, 2025) == [25_300, 23_000, 23_000, 23_000]
    assert ordinary_installments(3_500, 2025) == [3_500, 0, 0, 0]
    assert ordinary_installments(4_000, 2025) == [1_000, 1_000, 1_000, 1_000]


def test_reiwa_6_flat_reduction_comes_off_the_first_installments():
    # levy 54,300 after a 40,000 reduction: split 94,300, then take 40,000 from the first on.
    assert ordinary_installments(54_300, 2024, flat_reduction=40_000) == [0, 8_300, 23_000, 23_000]


def test_special_collection_twelve_months_in_hundreds_with_the_rest_in_june():
    months = special_monthly(94_300, 2025)
    assert months == [8_500] + [7_800] * 11
    assert special_monthly(1_100, 2025) == [1_100] + [0] * 11


def test_reiwa_6_special_collection_starts_in_july():
    months = special_monthly(54_300, 2024)
    assert months[0] == 0 and months[1] == 54_300 - 4_900 * 10 and months[2:] == [4_900] * 10


@given(st.integers(min_value=0, max_value=10_000_000), st.sampled_from(range(2021, 2027)))
def test_installments_and_months_always_sum_to_the_levy(levy, year):
    parts = ordinary_installments(levy, year)
    assert sum(parts) == levy and len(parts) == 4
    assert all(p % 1_000 == 0 for p in parts[1:]) and parts[0] >= parts[1]
    months = special_monthly(levy, year)
    assert sum(months) == levy and len(months) == 12
    first = 1 if year == 2024 else 0  # 令和6年度: nothing in June, July carries the rest
    assert all(m % 100 == 0 for m in months[first + 1 :])
    assert all(m == 0 for m in months[:first])


def test_remittance_is_due_on_the_tenth_of_the_next_month():
    assert remittance_due(2025, 6) == date(2025, 7, 10)
    assert remittance_due(2025, 12) == date(2026, 1, 10)


def test_respread_keeps_passed_installments_and_splits_the_rest():
    assert respread(100_000, [25_300, 23_000, 23_000, 23_000], 2, unit=1_000) == (
        [25_300, 23_000, 26_700, 25_000],
        0,
    )


def test_respread_reduction_beyond_the_future_comes_off_the_latest_passed():
    assert respread(30_000, [25_300, 23_000, 23_000, 23_000], 2, unit=1_000) == (
        [25_300, 4_700, 0, 0],
        0,
    )


def test_respread_increase_after_the_last_due_date_is_extra():
    assert respread(100_000, [25_300, 23_000, 23_000, 23_000], 4, unit=1_000) == (
        [25_300, 23_000, 23_000, 23_000],
        5_700,
    )


@given(
    st.integers(0, 2_000_000),
    st.lists(st.integers(0, 500_000), min_size=1, max_size=12),
    st.integers(0, 12),
)
def test_respread_always_reaches_the_new_total(new_total, amounts, fixed):
    out, extra = respread(new_total, amounts, fixed, unit=1_000)
    assert len(out) == len(amounts) and sum(out) + extra == new_total
    assert all(a >= 0 for a in out)


def test_due_dates_left_for_a_notice_sent_today():
    schedule = [(6, 30), (8, 31), (10, 31), (1, 31)]
    assert ordinary_due_dates_after(schedule, 2025, date(2025, 10, 25)) == [date(2026, 1, 31)]
    assert ordinary_due_dates_after(schedule, 2025, date(2026, 2, 1)) == []
    assert extra_due_date(date(2026, 2, 1)) == date(2026, 3, 31)
    assert extra_due_date(date(2025, 12, 25)) == date(2026, 1, 31)


@pytest.mark.parametrize("bad", [-1])
def test_negative_levy_is_refused(bad):
    with pytest.raises(ValueError):
        ordinary_installments(bad, 2025)
