from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments import latecharge
from payments.latecharge import (
    RATES,
    LateChargePart,
    MissingRate,
    civil_month_end,
    late_charge,
    late_charge_breakdown,
    parse_rates,
    rates_for_year,
    rates_from_base,
)


def test_specification_worked_example_is_2400_yen():
    assert late_charge(123_456, date(2025, 10, 31), date(2026, 2, 10)) == 2_400


def test_specification_worked_example_breakdown():
    parts = late_charge_breakdown(123_456, date(2025, 10, 31), date(2026, 2, 10))
    assert parts == [
        LateChargePart(date(2025, 11, 1), date(2025, 11, 30), 30, Decimal("2.4"), 242, True),
        LateChargePart(date(2025, 12, 1), date(2025, 12, 31), 31, Decimal("8.7"), 908, False),
        LateChargePart(date(2026, 1, 1), date(2026, 2, 10), 41, Decimal("9.1"), 1_257, False),
    ]


@pytest.mark.parametrize(
    ("due", "first_period_end"),
    [
        (date(2026, 2, 2), date(2026, 3, 2)),
        (date(2025, 9, 30), date(2025, 10, 31)),
        (date(2026, 1, 30), date(2026, 2, 28)),
        (date(2024, 1, 30), date(2024, 2, 29)),
        (date(2026, 1, 28), date(2026, 2, 28)),
        (date(2025, 12, 31), date(2026, 1, 31)),
    ],
)
def test_first_period_ends_as_the_civil_code_counts_a_month(due, first_period_end):
    # Paid long after, so the first period's last part shows where it ends.
    parts = late_charge_breakdown(1_000_000, due, date(2026, 6, 30))
    first_parts = [part for part in parts if part.in_first_period]
    assert first_parts[-1].end == first_period_end
    assert parts[len(first_parts)].start == first_period_end + timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 2, 3), 1, date(2026, 3, 2)),
        (date(2025, 10, 1), 1, date(2025, 10, 31)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 12, 26), 3, date(2026, 3, 25)),
        (date(2025, 1, 1), 12, date(2025, 12, 31)),
    ],
)
def test_civil_month_end(start, months, end):
    assert civil_month_end(start, months) == end


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (1_999, 0),
        (0, 0),
        (2_000, 1_700),
        (2_999, 1_700),  # counted as 2,000
    ],
)
def test_principal_under_2000_yen_bears_nothing_and_is_counted_in_thousands(principal, expected):
    # Ten years late: 2,000 yen would earn 1,700 yen, so 1,999 yen shows the threshold, not the
    # rounding of a small charge.
    assert late_charge(principal, date(2015, 1, 31), date(2025, 1, 31)) == expected


def test_principal_fraction_under_1000_yen_is_dropped():
    due, paid = date(2025, 10, 31), date(2026, 2, 10)
    assert late_charge_breakdown(123_999, due, paid) == late_charge_breakdown(123_000, due, paid)


def test_sum_under_1000_yen_is_not_charged():
    due, paid = date(2025, 10, 31), date(2025, 12, 31)
    parts = late_charge_breakdown(100_000, due, paid)
    assert [part.amount for part in parts] == [197, 738]  # 935 yen → 900 → under 1,000
    assert late_charge(100_000, due, paid) == 0


def test_sum_is_truncated_to_hundreds():
    # 1,052 + 767 = 1,819 → 1,800, and the first period spans the new year.
    parts = late_charge_breakdown(1_000_000, date(2025, 12, 15), date(2026, 1, 10))
    assert [(part.days, part.rate, part.amount) for part in parts] == [
        (16, Decimal("2.4"), 1_052),
        (10, Decimal("2.8"), 767),
    ]
    assert late_charge(1_000_000, date(2025, 12, 15), date(2026, 1, 10)) == 1_800


def test_insurance_premium_first_period_of_three_months():
    due, paid = date(2025, 12, 25), date(2026, 4, 30)
    parts = late_charge_breakdown(250_000, due, paid, first_period_months=3)
    assert [(p.start, p.end, p.days, p.rate, p.amount) for p in parts] == [
        (date(2025, 12, 26), date(2025, 12, 31), 6, Decimal("2.4"), 98),
        (date(2026, 1, 1), date(2026, 3, 25), 84, Decimal("2.8"), 1_610),
        (date(2026, 3, 26), date(2026, 4, 30), 36, Decimal("9.1"), 2_243),
    ]
    assert late_charge(250_000, due, paid, first_period_months=3) == 3_900
    # The same installment as a tax (one-month first period) costs more.
    assert late_charge(250_000, due, paid) == 6_400


def test_days_are_split_at_every_first_of_january():
    parts = late_charge_breakdown(500_000, date(2023, 11, 30), date(2026, 1, 5))
    assert [(p.start, p.end) for p in parts] == [
        (date(2023, 12, 1), date(2023, 12, 31)),
        (date(2024, 1, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), date(2026, 1, 5)),
    ]
    assert [p.rate for p in parts] == [Decimal(r) for r in ("2.4", "8.7", "8.7", "9.1")]


def test_leap_year_still_divides_by_365():
    # 36,500,000 × 2.4 % / 365 = 2,400 yen a day exactly; dividing by 366 would give 69,409.
    assert late_charge(36_500_000, date(2024, 1, 31), date(2024, 2, 29)) == 69_600


def test_leap_year_docstring_example():
    assert late_charge(800_000, date(2024, 1, 31), date(2024, 3, 15)) == 4_300


@pytest.mark.parametrize("paid", [date(2025, 10, 31), date(2025, 10, 1)])
def test_paid_on_or_before_due_date_is_not_charged(paid):
    assert late_charge(123_456, date(2025, 10, 31), paid) == 0
    assert late_charge_breakdown(123_456, date(2025, 10, 31), paid) == []


def test_every_table_row_follows_the_rule_for_new_years():
    for year, (first, after) in RATES.items():
        assert rates_from_base(first - Decimal("1")) == (first, after), year


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (Decimal("1.8"), (Decimal("2.8"), Decimal("9.1"))),
        (Decimal("7.0"), (Decimal("7.3"), Decimal("14.3"))),  # first capped at 7.3 %
        (Decimal("8.0"), (Decimal("7.3"), Decimal("14.6"))),  # both capped
    ],
)
def test_rates_from_base_caps_at_the_statutory_rates(base, expected):
    assert rates_from_base(base) == expected


def test_a_year_after_the_table_is_refused_not_charged_at_last_years_rate():
    """The reduced rates follow a figure announced each December; reusing the last
    row would bill the wrong amount."""
    last_year = max(RATES)
    with pytest.raises(MissingRate, match=str(last_year + 1)):
        rates_for_year(last_year + 1)
    with pytest.raises(MissingRate):
        late_charge(100_000, date(last_year, 12, 31), date(last_year + 1, 1, 31))


def test_a_new_year_is_added_by_configuration(monkeypatch):
    monkeypatch.setattr(latecharge, "RATES", dict(RATES))
    year = max(RATES) + 1
    latecharge.add_rates(parse_rates([f"{year}:2.9:9.2"]))
    assert rates_for_year(year) == (Decimal("2.9"), Decimal("9.2"))
    with pytest.raises(ValueError, match="year:first:after"):
        parse_rates(["2027-2.9-9.2"])
    with pytest.raises(ValueError, match="statutory"):
        latecharge.add_rates({year: (Decimal("8.0"), Decimal("9.0"))})


def test_years_before_the_table_are_refused():
    with pytest.raises(ValueError, match="2013"):
        late_charge(100_000, date(2013, 5, 31), date(2013, 8, 31))


@given(
    principal=st.integers(min_value=0, max_value=10**9),
    # Every day up to paid + extra_days stays inside the rate table (a year beyond it raises).
    due=st.dates(min_value=date(2014, 1, 1), max_value=date(max(RATES) - 4, 12, 31)),
    late_days=st.integers(min_value=0, max_value=1_000),
    extra_days=st.integers(min_value=0, max_value=400),
    months=st.sampled_from([1, 3]),
)
def test_charge_properties(principal, due, late_days, extra_days, months):
    paid = due + timedelta(days=late_days)
    charge = late_charge(principal, due, paid, first_period_months=months)
    assert charge % 100 == 0
    assert charge == 0 or charge >= 1_000
    # Paying later never costs less.
    later = late_charge(
        principal, due, paid + timedelta(days=extra_days), first_period_months=months
    )
    assert later >= charge

    parts = late_charge_breakdown(principal, due, paid, first_period_months=months)
    if parts:
        assert parts[0].start == due + timedelta(days=1)
        assert parts[-1].end == paid
        assert sum(part.days for part in parts) == late_days
        for before, after in zip(parts, parts[1:], strict=False):
            assert after.start == before.end + timedelta(days=1)
            assert before.start.year == before.end.year
