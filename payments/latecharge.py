"""Late charge (延滞金) on local taxes and insurance premiums.

Statute: 地方税法326条 (municipal inhabitants' tax), 369条 (fixed-asset tax), 463条の24 (light
vehicle tax), 723条 (national health insurance tax); the reduced rates come from 附則3条の2 and the
rounding rules from 20条の4の2. Insurance premiums (後期高齢者医療, 介護保険) follow the same rule by
ordinance but with a first period of three months instead of one.

The calculation, per installment:

1. A principal under 2,000 yen bears no late charge; otherwise it is truncated to a multiple of
   1,000 yen (20条の4の2 第1項).
2. Days run from the day after the due date through the payment date, inclusive. The first period
   ends as the Civil Code counts months (民法143条): see :func:`civil_month_end`.
3. Rates change by calendar year, so the days are split at every 1 January and at the end of the
   first period. Every year has 365 days here, leap years too (附則3条の2 says the annual rate
   applies "閏年の日を含む期間についても、三百六十五日当たりの割合").
4. Each part is principal × rate × days / 365 with fractions of a yen dropped; the sum is
   truncated to a multiple of 100 yen and a sum under 1,000 yen is not charged (20条の4の2 第2項).

The due date passed in is the effective one: a due date on a Saturday, Sunday, holiday or 29 Dec–
3 Jan has already moved to the next business day (地方税法20条の5 第2項,
:func:`cityhall.dates.next_business_day`).

Worked examples (the first is the one from the specification; the other two are computed by
hand and pinned by tests):

installment                     part                        days  rate    amount
123,456 yen due 2025-10-31,     2025-11-01 .. 2025-11-30      30  2.4 %      242
paid 2026-02-10, counted as     2025-12-01 .. 2025-12-31      31  8.7 %      908
123,000                         2026-01-01 .. 2026-02-10      41  9.1 %    1,257
                                sum 2,407                                2,400

800,000 yen due 2024-01-31,     2024-02-01 .. 2024-02-29      29  2.4 %    1,525
paid 2024-03-15 (leap year,     2024-03-01 .. 2024-03-15      15  8.7 %    2,860
still divided by 365)           sum 4,385                                4,300

250,000 yen premium due         2025-12-26 .. 2025-12-31       6  2.4 %       98
2025-12-25, paid 2026-04-30,    2026-01-01 .. 2026-03-25      84  2.8 %    1,610
first period 3 months           2026-03-26 .. 2026-04-30      36  9.1 %    2,243
                                sum 3,951                                3,900

Hand arithmetic for the last two: 800,000 × 2.4 % = 19,200 a year, × 29 / 365 = 1,525.4;
800,000 × 8.7 % = 69,600, × 15 / 365 = 2,860.2. 250,000 × 2.4 % = 6,000, × 6 / 365 = 98.6;
250,000 × 2.8 % = 7,000, × 84 / 365 = 1,610.9; 250,000 × 9.1 % = 22,750, × 36 / 365 = 2,243.8.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

# 附則3条の2: the rate for the first period is 延滞金特例基準割合 + 1 % (capped at the statutory
# 7.3 %), after it 延滞金特例基準割合 + 7.3 % (capped at 14.6 %). 延滞金特例基準割合 is announced
# each December for the next calendar year (平均貸付割合 + 1 %). Percentages per calendar year:
# (first period, after the first period).
RATES: dict[int, tuple[Decimal, Decimal]] = {
    2014: (Decimal("2.9"), Decimal("9.2")),
    2015: (Decimal("2.8"), Decimal("9.1")),
    2016: (Decimal("2.8"), Decimal("9.1")),
    2017: (Decimal("2.7"), Decimal("9.0")),
    2018: (Decimal("2.6"), Decimal("8.9")),
    2019: (Decimal("2.6"), Decimal("8.9")),
    2020: (Decimal("2.6"), Decimal("8.9")),
    2021: (Decimal("2.5"), Decimal("8.8")),
    2022: (Decimal("2.4"), Decimal("8.7")),
    2023: (Decimal("2.4"), Decimal("8.7")),
    2024: (Decimal("2.4"), Decimal("8.7")),
    2025: (Decimal("2.4"), Decimal("8.7")),
    2026: (Decimal("2.8"), Decimal("9.1")),
}

STATUTORY_FIRST_RATE = Decimal("7.3")
STATUTORY_AFTER_RATE = Decimal("14.6")

# 地方税法20条の4の2: the principal is counted in whole thousands and a principal under 2,000 yen
# bears nothing; the charge is counted in whole hundreds and a charge under 1,000 yen is waived.
MINIMUM_PRINCIPAL = 2_000
PRINCIPAL_UNIT = 1_000
MINIMUM_CHARGE = 1_000
CHARGE_UNIT = 100

DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class LateChargePart:
    """One stretch of days charged at one rate, as printed on a statement."""

    start: date
    end: date
    days: int
    rate: Decimal
    amount: int
    in_first_period: bool


def rates_from_base(tokurei_kijun: Decimal) -> tuple[Decimal, Decimal]:
    """Rates (first period, after) for a year whose 延滞金特例基準割合 is ``tokurei_kijun`` (%).

    附則3条の2: first = min(特例基準割合 + 1 %, 7.3 %), after = min(特例基準割合 + 7.3 %, 14.6 %).
    Use it to add the new row to :data:`RATES` when the ministry announces next year's figure.
    """
    first = min(tokurei_kijun + Decimal("1"), STATUTORY_FIRST_RATE)
    after = min(tokurei_kijun + STATUTORY_FIRST_RATE, STATUTORY_AFTER_RATE)
    return first, after


class MissingRate(ValueError):
    """No rate is known for a calendar year: the 延滞金特例基準割合 of a new year has not been
    added yet, or the year is before 2014 (different rules)."""


def rates_for_year(year: int) -> tuple[Decimal, Decimal]:
    """The (first, after) percentages for a calendar year.

    A year without a row is refused (:class:`MissingRate`): the reduced rates depend on the
    figure the ministry announces each December, and reusing last year's would charge the wrong
    amount. New years are added by configuration (:func:`add_rates`, ``MACHIBA_LATE_CHARGE_RATES``).
    """
    if year in RATES:
        return RATES[year]
    if year < min(RATES):
        raise MissingRate(f"no late-charge rate for {year}: the rate table starts in {min(RATES)}")
    raise MissingRate(
        f"no late-charge rate for {year}: add the year's rates (MACHIBA_LATE_CHARGE_RATES, "
        f"e.g. '{year}:2.8:9.1') once its 延滞金特例基準割合 is announced"
    )


def parse_rates(rows: Iterable[str]) -> dict[int, tuple[Decimal, Decimal]]:
    """Rows ``"year:first:after"`` (percentages), as ``MACHIBA_LATE_CHARGE_RATES`` gives them."""
    out = {}
    for row in rows:
        try:
            year, first, after = row.strip().split(":")
            out[int(year)] = (Decimal(first), Decimal(after))
        except (ValueError, ArithmeticError) as error:
            raise ValueError(f"late-charge rate {row!r} is not 'year:first:after'") from error
    return out


def add_rates(rows: dict[int, tuple[Decimal, Decimal]]) -> None:
    """Add (or correct) rows of the rate table, e.g. from the configuration at start-up."""
    for year, (first, after) in rows.items():
        if not (0 <= first <= STATUTORY_FIRST_RATE and 0 <= after <= STATUTORY_AFTER_RATE):
            raise ValueError(f"late-charge rates for {year} exceed the statutory 7.3 % / 14.6 %")
        RATES[year] = (first, after)


def civil_month_end(start: date, months: int) -> date:
    """Last day of a period of ``months`` months whose first day is ``start`` (民法143条).

    The period ends on the day before the day of the Nth following month that has the start's day
    number; where that month has no such day, it ends on that month's last day.
    2026-02-03 → 2026-03-02, 2025-10-01 → 2025-10-31, 2026-01-31 → 2026-02-28.
    """
    if months < 1:
        raise ValueError(f"a period needs at least one month, got {months}")
    month_index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    if start.day > last_day:
        return date(year, month, last_day)
    return date(year, month, start.day) - timedelta(days=1)


def _part_amount(principal: int, rate: Decimal, days: int) -> int:
    # Exact rational arithmetic: the rate is a percentage, so divide by 100 × 365; int() drops
    # the fraction of a yen (the values are never negative).
    return int(Fraction(principal) * Fraction(rate) * days / (100 * DAYS_PER_YEAR))


def late_charge_breakdown(
    principal: int, due: date, paid: date, *, first_period_months: int = 1
) -> list[LateChargePart]:
    """The parts of the late charge, before the sum is rounded; empty when nothing accrues.

    Arguments as for :func:`late_charge`. Each part's amount is already truncated to the yen.
    """
    if principal < 0:
        raise ValueError(f"principal must not be negative, got {principal}")
    if first_period_months < 1:
        raise ValueError(f"first_period_months must be at least 1, got {first_period_months}")
    if paid <= due or principal < MINIMUM_PRINCIPAL:
        return []
    base = principal // PRINCIPAL_UNIT * PRINCIPAL_UNIT
    start = due + timedelta(days=1)
    first_end = civil_month_end(start, first_period_months)

    parts: list[LateChargePart] = []
    part_start = start
    while part_start <= paid:
        in_first = part_start <= first_end
        # Split at the end of the first period and at every 1 January (rates are per year).
        part_end = min(paid, date(part_start.year, 12, 31))
        if in_first:
            part_end = min(part_end, first_end)
        days = (part_end - part_start).days + 1
        first_rate, after_rate = rates_for_year(part_start.year)
        rate = first_rate if in_first else after_rate
        parts.append(
            LateChargePart(
                start=part_start,
                end=part_end,
                days=days,
                rate=rate,
                amount=_part_amount(base, rate, days),
                in_first_period=in_first,
            )
        )
        part_start = part_end + timedelta(days=1)
    return parts


def late_charge(principal: int, due: date, paid: date, *, first_period_months: int = 1) -> int:
    """Late charge in yen on one installment of ``principal`` yen due on ``due``, paid on ``paid``.

    ``due`` is the effective due date (already moved off a holiday). ``first_period_months`` is 1
    for taxes and 3 for insurance premiums whose ordinance says so. Returns 0 when paid on or before
    the due date, for a principal under 2,000 yen, and when the charge comes to under 1,000 yen.
    """
    parts = late_charge_breakdown(principal, due, paid, first_period_months=first_period_months)
    total = sum(part.amount for part in parts) // CHARGE_UNIT * CHARGE_UNIT
    return total if total >= MINIMUM_CHARGE else 0


def late_charge_on_balance(
    principal: int,
    due: date,
    as_of: date,
    payments: Iterable[tuple[date, int]],
    *,
    first_period_months: int = 1,
) -> int:
    """Late charge on one installment that was paid in parts, counted through ``as_of``.

    ``payments`` are (paid date, amount) pairs applied to this installment's principal (principal
    first: 地方税法 does not let a payment go to the late charge while principal is owed). The
    late charge accrues, day by day, on the principal still outstanding: a part paid on day D
    bears it through D (inclusive, as a whole payment would), and the rest from D + 1. Each
    stretch of constant principal is split at 1 January and at the end of the first period like
    :func:`late_charge_breakdown`; the principal of each stretch is truncated to whole thousands
    (none under 2,000 yen), each part to the yen, and the sum to the hundred (none under 1,000).

    Worked example (pinned by tests): 100,000 yen due 2025-10-31, 60,000 paid 2025-12-15,
    the rest 2026-01-20.

    =========================  =======  ====  =====  ======
    stretch                    base     days  rate   amount
    =========================  =======  ====  =====  ======
    2025-11-01 .. 2025-11-30   100,000    30  2.4 %     197
    2025-12-01 .. 2025-12-15   100,000    15  8.7 %     357
    2025-12-16 .. 2025-12-31    40,000    16  8.7 %     152
    2026-01-01 .. 2026-01-20    40,000    20  9.1 %     199
    sum 905 → under 1,000 yen                              0
    =========================  =======  ====  =====  ======

    The same with 300,000 yen and 180,000 paid on 2025-12-15 gives 591 + 1,072 + 457 + 598 =
    2,718 → 2,700 yen.
    """
    by_date: dict[date, int] = {}
    for paid_on, amount in payments:
        by_date[paid_on] = by_date.get(paid_on, 0) + amount
    outstanding = principal - sum(amount for paid_on, amount in by_date.items() if paid_on <= due)
    segment_start = due + timedelta(days=1)
    total = 0
    for paid_on in sorted(d for d in by_date if d > due):
        end = min(paid_on, as_of)
        if end >= segment_start and outstanding > 0:
            total += _segment_amount(outstanding, due, segment_start, end, first_period_months)
        outstanding -= by_date[paid_on]
        segment_start = max(segment_start, paid_on + timedelta(days=1))
        if paid_on >= as_of:
            break
    if outstanding > 0 and as_of >= segment_start:
        total += _segment_amount(outstanding, due, segment_start, as_of, first_period_months)
    total = total // CHARGE_UNIT * CHARGE_UNIT
    return total if total >= MINIMUM_CHARGE else 0


def _segment_amount(principal: int, due: date, start: date, end: date, months: int) -> int:
    if principal < MINIMUM_PRINCIPAL:
        return 0
    amount = 0
    for part in late_charge_breakdown(principal, due, end, first_period_months=months):
        if part.end < start:
            continue
        days = (part.end - max(part.start, start)).days + 1
        base = principal // PRINCIPAL_UNIT * PRINCIPAL_UNIT
        amount += _part_amount(base, part.rate, days)
    return amount
