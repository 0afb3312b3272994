"""How an annual levy is collected: 普通徴収 installments and 特別徴収 monthly amounts. Pure.

- 普通徴収 (地方税法319条・320条): four 納期 in June, August, October and January, days set by
  the city's ordinance (payments' ``resident_tax`` revenue holds them). When a levy is split over
  several due dates, each part is a multiple of 1,000 yen and the fraction — or the whole part
  when it is under 1,000 yen — goes to the first due date (地方税法20条の4の2第6項).
- 特別徴収 (地方税法321条の3〜321条の5): the employer deducts 1/12 of the levy from the salaries of
  June to May and pays it in by the 10th of the next month; a fraction under 100 yen, or the whole
  levy when it is under 1,200 yen, goes to June (321条の5第1項).
- 令和6年度 (定額減税, 地方税法附則5条の8): nothing is deducted in June and the levy after the
  reduction is spread over the eleven months July–May, the fraction on July; for 普通徴収 the
  installments are those of the levy before the reduction, and the reduction comes off the first
  installment, then the next, and so on.
- A 特別徴収 that ends (退職, 転職, leaving the city) leaves the months not yet deducted to be
  collected by 普通徴収 (地方税法321条の7).
"""

from __future__ import annotations

from datetime import date, timedelta

ORDINARY_INSTALLMENTS = 4
INSTALLMENT_UNIT = 1_000  # 地方税法20条の4の2第6項
MONTHLY_UNIT = 100  # 地方税法321条の5第1項
# 地方税法319条の2: the tax notice reaches the taxpayer at least 10 days before the due date.
NOTICE_DAYS_BEFORE_DUE = 10


def split(amount: int, count: int, *, unit: int = INSTALLMENT_UNIT) -> list[int]:
    """``amount`` over ``count`` parts: later parts equal multiples of ``unit``, the rest on the
    first (so the first may be larger, never smaller, than the others)."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    later = amount // count // unit * unit
    return [amount - later * (count - 1)] + [later] * (count - 1)


def ordinary_installments(levy: int, fiscal_year: int, *, flat_reduction: int = 0) -> list[int]:
    """The four 普通徴収 amounts of an annual levy (after every credit).

    In 令和6年度 ``flat_reduction`` is the 定額減税 the levy already reflects: the installments
    are split from the levy before it and the reduction is taken off from the first on.
    """
    if fiscal_year != 2024 or not flat_reduction:
        return split(levy, ORDINARY_INSTALLMENTS)
    parts = split(levy + flat_reduction, ORDINARY_INSTALLMENTS)
    left = flat_reduction
    for index, part in enumerate(parts):
        taken = min(part, left)
        parts[index] = part - taken
        left -= taken
    return parts


def special_months(fiscal_year: int) -> list[tuple[int, int]]:
    """(year, month) of the twelve deduction months, June of the fiscal year to May."""
    return [(fiscal_year, m) for m in range(6, 13)] + [(fiscal_year + 1, m) for m in range(1, 6)]


def special_monthly(levy: int, fiscal_year: int) -> list[int]:
    """Twelve monthly 特別徴収 amounts, June to May (321条の5第1項; 令和6年度 July to May)."""
    if fiscal_year == 2024:
        return [0, *_monthly(levy, 11)]
    return _monthly(levy, 12)


def _monthly(levy: int, months: int) -> list[int]:
    if levy < MONTHLY_UNIT * months:
        return [levy] + [0] * (months - 1)
    return split(levy, months, unit=MONTHLY_UNIT)


def remittance_due(year: int, month: int) -> date:
    """特別徴収 of a month is paid in by the 10th of the next month (321条の5第2項)."""
    return date(year + (month == 12), month % 12 + 1, 10)


def respread(new_total: int, amounts: list[int], fixed: int, *, unit: int) -> tuple[list[int], int]:
    """更正 of a schedule: the first ``fixed`` amounts (due dates already passed) stay; the rest
    of ``new_total`` is split over the later ones as the statute splits a levy.

    Returns ``(new amounts, extra)``: ``extra`` is an increase no later amount can carry (every
    due date has passed), to be billed with a new due date. A reduction larger than the later
    amounts comes off the passed ones, latest first (what was paid on them becomes credit).
    """
    if new_total < 0:
        raise ValueError("the new total must not be negative")
    fixed = max(0, min(fixed, len(amounts)))
    kept = list(amounts[:fixed])
    later = len(amounts) - fixed
    rest = new_total - sum(kept)
    if rest >= 0:
        if later == 0:
            return kept, rest
        return kept + split(rest, later, unit=unit), 0
    # Reduce the passed amounts from the latest back.
    shortfall = -rest
    for index in range(len(kept) - 1, -1, -1):
        taken = min(kept[index], shortfall)
        kept[index] -= taken
        shortfall -= taken
    return kept + [0] * later, 0


def ordinary_due_dates_after(
    schedule: list[tuple[int, int]], fiscal_year: int, today: date
) -> list[date]:
    """The city's 普通徴収 due dates of the fiscal year still far enough ahead for a notice sent
    today (``schedule`` is (month, day) pairs; January to March fall in the next year)."""
    dates = [date(fiscal_year + (m < 4), m, d) for m, d in schedule]
    earliest = today + timedelta(days=NOTICE_DAYS_BEFORE_DUE)
    return [d for d in dates if d >= earliest]


def extra_due_date(today: date) -> date:
    """A due date for an amount no regular due date can carry: the end of the next month, and at
    least the notice period away."""
    first_of_next = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    after = date(first_of_next.year + (first_of_next.month == 12), first_of_next.month % 12 + 1, 1)
    end_of_next = after - timedelta(days=1)
    return max(end_of_next, today + timedelta(days=NOTICE_DAYS_BEFORE_DUE))
