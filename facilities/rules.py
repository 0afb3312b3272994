"""The rules a city sets for its facilities (施設の設置及び管理に関する条例 and its 規則), as data.

Every number here is the city's choice, not law: the defaults follow what Japanese cities
publish (refunds 100 % until 7 days before use and 50 % until 2 days, as 調布市 and many
others; lottery entries from the 1st to the 15th for use two months ahead; groups of five or
more, at least half living, working or studying in the city; registration valid three years;
penalty points for no-shows and late cancellations, as 金沢市's sports facilities count them).
A city overrides any of them with the ``MACHIBA_FACILITY_RULES`` environment variable (a JSON
object, read by ``settings.FACILITY_RULES``); the README lists the keys.

Pure module: no ORM, so the calculations can be tested in microseconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class RefundStep:
    """Cancelling at least ``days_before`` days before the day of use refunds ``percent`` %."""

    days_before: int
    percent: int


@dataclass(frozen=True)
class Rules:
    # First-come booking (随時予約)
    hold_minutes: int = 10  # a first-come slot is held this long while the booker pays
    first_come_days_ahead: int = 60  # how far ahead first-come booking is open (no lottery)
    max_active_bookings: int = 10  # per registration, bookings not yet used (all units)
    # Lottery (抽選)
    entry_open_day: int = 1  # entries open on this day of the month …
    entry_close_day: int = 15  # … and close at the end of this day
    results_day: int = 16  # results are published on this day
    confirm_days: int = 10  # winners confirm and pay within this many days of the results
    months_ahead: int = 2  # slots of the month this many months after the entry month
    large_hall_months_ahead: int = 6  # … for large halls (Facility.months_ahead says which)
    max_entries_per_applicant: int = 5  # per round
    max_wins_per_applicant: int = 2  # per round
    max_choices_per_entry: int = 3  # 第1希望 … 第3希望
    # Registrations (利用者登録・団体登録)
    group_min_members: int = 5
    group_min_city_share_percent: int = 50  # living, working or studying in the city
    registration_years: int = 3
    duplicate_group_shared_members: int = 3  # a group sharing this many members is a duplicate
    # Cancellation (取消) and refunds (還付): the steps, longest notice first; a cancellation
    # with less notice than the last step refunds nothing.
    refund_schedule: tuple[RefundStep, ...] = (RefundStep(7, 100), RefundStep(2, 50))
    # Penalty points (ペナルティ)
    no_show_points: int = 2
    late_cancel_points: int = 1
    late_cancel_days: int = 2  # cancelling with less notice than this is late
    points_valid_days: int = 365
    points_limit: int = 4  # reaching this many valid points …
    restriction_days: int = 90  # … bars lottery entries for this many days
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, values: dict | None) -> Rules:
        """Defaults overridden by ``values``; unknown keys raise (a typo must not pass)."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown facility rules: {', '.join(unknown)}")
        if "refund_schedule" in values:
            values["refund_schedule"] = tuple(
                RefundStep(int(step[0]), int(step[1])) for step in values["refund_schedule"]
            )
        rules = cls(**values)
        rules.check()
        return rules

    def check(self) -> None:
        days = [step.days_before for step in self.refund_schedule]
        if days != sorted(days, reverse=True) or any(d < 0 for d in days):
            raise ValueError("refund_schedule: days_before must fall, longest notice first")
        if any(not 0 <= step.percent <= 100 for step in self.refund_schedule):
            raise ValueError("refund_schedule: percentages are between 0 and 100")
        if not 1 <= self.entry_open_day <= self.entry_close_day < self.results_day <= 28:
            raise ValueError("entry_open_day <= entry_close_day < results_day <= 28")


def refund_percent(rules: Rules, *, use_date: date, cancelled_on: date) -> int:
    """The share of the fee refunded when a booking for ``use_date`` is cancelled on
    ``cancelled_on``: the first step whose notice the cancellation meets.

    >>> r = Rules()
    >>> refund_percent(r, use_date=date(2026, 8, 20), cancelled_on=date(2026, 8, 13))
    100
    >>> refund_percent(r, use_date=date(2026, 8, 20), cancelled_on=date(2026, 8, 14))
    50
    >>> refund_percent(r, use_date=date(2026, 8, 20), cancelled_on=date(2026, 8, 19))
    0
    """
    notice = (use_date - cancelled_on).days
    for step in rules.refund_schedule:
        if notice >= step.days_before:
            return step.percent
    return 0


def refund_amount(fee: int, percent: int) -> int:
    """還付額: ``percent`` % of ``fee``, fractions of a yen dropped (切り捨て), as the fee
    ordinances round what the city pays out; 1,001 yen at 50 % refunds 500 yen."""
    if fee < 0 or not 0 <= percent <= 100:
        raise ValueError("fee must not be negative and percent within 0..100")
    return fee * percent // 100


def is_late_cancellation(rules: Rules, *, use_date: date, cancelled_on: date) -> bool:
    return (use_date - cancelled_on).days < rules.late_cancel_days


def restricted_until(rules: Rules, points: list[tuple[date, int]], *, on: date) -> date | None:
    """The day lottery entries are allowed again, or None when they are allowed ``on`` that day.

    ``points`` are (earned on, points). Points count for ``points_valid_days``; the day the
    valid points first reach ``points_limit`` starts a restriction of ``restriction_days``.
    """
    ordered = sorted(points)
    for index, (earned, _points) in enumerate(ordered):
        window_start = earned - timedelta(days=rules.points_valid_days - 1)
        total = sum(p for d, p in ordered[: index + 1] if d >= window_start)
        if total >= rules.points_limit:
            until = earned + timedelta(days=rules.restriction_days)
            if on < until:
                return until
    return None


def add_months(d: date, months: int) -> date:
    """The first day of the month ``months`` after ``d``'s month."""
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(d: date) -> date:
    return add_months(d, 1) - timedelta(days=1)
