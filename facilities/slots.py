"""Which slots a unit offers on a day: fixed periods (午前・午後・夜間) or hourly, within the
facility's opening hours for that weekday, never on its closed days.

Closed days come from the calendar, not from a hand list: national holidays from ``jpholiday``
(国民の祝日に関する法律, 振替休日 and 国民の休日 included) when the facility closes on them, and the
year-end closure 29 December – 3 January that facility ordinances set (e.g. 横浜市地区センター条例
施行規則: 休館日 12月29日から翌年1月3日まで). Ad-hoc closures and maintenance are rows
(``Closure``) checked by the services, since they are data, not rules.

Pure module: no ORM.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import jpholiday

TOKYO = ZoneInfo("Asia/Tokyo")

FIXED = "fixed"
HOURLY = "hourly"

# Why a day offers no slots (the codes RejectedOccurrence and the grid use).
CLOSED_WEEKLY = "weekly"
CLOSED_HOLIDAY = "holiday"
CLOSED_YEAR_END = "year_end"


@dataclass(frozen=True)
class Period:
    code: str
    name_ja: str
    name_en: str
    starts: time
    ends: time
    fee_resident: int
    fee_group: int
    fee_nonresident: int


@dataclass(frozen=True)
class UnitPlan:
    """Everything slot generation needs to know about one unit."""

    unit_id: int
    code: str
    slot_mode: str
    # weekday (0 = Monday) -> (opens, closes); a weekday missing is a weekly closed day (休館日)
    hours: Mapping[int, tuple[time, time]]
    periods: tuple[Period, ...] = ()
    slot_minutes: int = 60
    fee_resident: int = 0  # per hourly slot
    fee_group: int = 0
    fee_nonresident: int = 0
    closed_on_holidays: bool = False
    year_end_closed: bool = True


@dataclass(frozen=True)
class Slot:
    unit_id: int
    day: date
    starts: time
    ends: time
    period_code: str  # "am" / "pm" / "night" for fixed periods, "" for hourly
    name_ja: str
    name_en: str
    fee_resident: int
    fee_group: int
    fee_nonresident: int

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.day, self.starts, tzinfo=TOKYO)

    @property
    def end_at(self) -> datetime:
        end_day = self.day if self.ends > self.starts else self.day + timedelta(days=1)
        return datetime.combine(end_day, self.ends, tzinfo=TOKYO)

    def code(self, unit_code: str) -> str:
        """The slot's public code, e.g. ``gym-a-20260805-0900`` (used in the published lottery
        files, which name no person)."""
        return f"{unit_code}-{self.day:%Y%m%d}-{self.starts:%H%M}"

    def fee_for(self, rate: str) -> int:
        return {
            "resident": self.fee_resident,
            "group": self.fee_group,
            "nonresident": self.fee_nonresident,
        }[rate]


def is_year_end(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def closed_reason(plan: UnitPlan, day: date) -> str | None:
    """Why the unit offers nothing on ``day`` by rule, or None when it is open."""
    if plan.year_end_closed and is_year_end(day):
        return CLOSED_YEAR_END
    if plan.closed_on_holidays and jpholiday.is_holiday(day):
        return CLOSED_HOLIDAY
    if day.weekday() not in plan.hours:
        return CLOSED_WEEKLY
    return None


def slots_for_day(plan: UnitPlan, day: date) -> list[Slot]:
    if closed_reason(plan, day) is not None:
        return []
    opens, closes = plan.hours[day.weekday()]
    if plan.slot_mode == FIXED:
        return [
            Slot(
                plan.unit_id,
                day,
                period.starts,
                period.ends,
                period.code,
                period.name_ja,
                period.name_en,
                period.fee_resident,
                period.fee_group,
                period.fee_nonresident,
            )
            for period in plan.periods
            if opens <= period.starts and period.ends <= closes
        ]
    slots = []
    step = timedelta(minutes=plan.slot_minutes)
    start = datetime.combine(day, opens)
    last = datetime.combine(day, closes)
    while start + step <= last:
        end = start + step
        label = f"{start:%H:%M}–{end:%H:%M}"
        slots.append(
            Slot(
                plan.unit_id,
                day,
                start.time(),
                end.time(),
                "",
                label,
                label,
                plan.fee_resident,
                plan.fee_group,
                plan.fee_nonresident,
            )
        )
        start = end
    return slots


def days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def slots_between(plan: UnitPlan, first: date, last: date) -> list[Slot]:
    return [slot for day in days(first, last) for slot in slots_for_day(plan, day)]


def slot_at(plan: UnitPlan, start: datetime) -> Slot | None:
    """The slot that starts exactly at ``start`` (aware), or None."""
    local = start.astimezone(TOKYO)
    for slot in slots_for_day(plan, local.date()):
        if slot.starts == local.time().replace(tzinfo=None):
            return slot
    return None
