"""Reads of facility reservations other code may use: units' slot plans, availability, the
staff week calendar, a user's registrations and bookings, and usage statistics."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from psycopg2.extras import DateTimeTZRange

from . import slots as slotlib
from .models import (
    ACTIVE_STATES,
    Booking,
    Closure,
    Facility,
    LotteryRound,
    OpeningHours,
    Period,
    Registration,
    Unit,
)
from .rules import Rules, add_months

# What a cell of the availability grid says (the templates map each to words).
FREE = "free"  # bookable first-come now
BOOKED = "booked"
CLOSED = "closed"  # a closure or maintenance
LOTTERY = "lottery"  # goes by this month's lottery; first-come opens after the results
NOT_YET = "not_yet"  # beyond the first-come horizon
PAST = "past"
SLOT_STATUSES = [FREE, BOOKED, CLOSED, LOTTERY, NOT_YET, PAST]


def units_with_plan(units: QuerySet[Unit] | Iterable[Unit]) -> list[Unit]:
    """Units with what their plan needs, in three queries whatever their number."""
    if isinstance(units, QuerySet):
        units = units.select_related("facility").prefetch_related(
            Prefetch("periods", queryset=Period.objects.order_by("starts")),
            Prefetch("facility__hours", queryset=OpeningHours.objects.order_by("weekday")),
        )
    return list(units)


def plan_of(unit: Unit) -> slotlib.UnitPlan:
    facility = unit.facility
    return slotlib.UnitPlan(
        unit_id=unit.pk,
        code=unit.code,
        slot_mode=unit.slot_mode,
        hours={h.weekday: (h.opens, h.closes) for h in facility.hours.all()},
        periods=tuple(
            slotlib.Period(
                p.code,
                p.name_ja,
                p.name_en,
                p.starts,
                p.ends,
                p.fee_resident,
                p.fee_group,
                p.fee_nonresident,
            )
            for p in unit.periods.all()
        ),
        slot_minutes=unit.slot_minutes,
        fee_resident=unit.fee_resident,
        fee_group=unit.fee_group,
        fee_nonresident=unit.fee_nonresident,
        closed_on_holidays=facility.closed_on_holidays,
        year_end_closed=facility.year_end_closed,
    )


def unit_with_plan(unit_id: int) -> Unit | None:
    found = units_with_plan(Unit.objects.filter(pk=unit_id, active=True, facility__active=True))
    return found[0] if found else None


def round_for_slot_month(facility: Facility, day: date) -> LotteryRound | None:
    """The lottery round whose entries decide ``day``'s month for this facility, if any."""
    entry_month = add_months(day.replace(day=1), -facility.months_ahead)
    return LotteryRound.objects.filter(month=entry_month).first()


class FirstComeWindow:
    """Answers "is first-come booking open for this unit on this day?" for many days with one
    query for the rounds."""

    def __init__(self, rules: Rules, today: date):
        self.rules = rules
        self.today = today
        self.horizon = today + timedelta(days=rules.first_come_days_ahead)
        self._rounds: dict[date, str] | None = None

    def _round_states(self) -> dict[date, str]:
        if self._rounds is None:
            self._rounds = dict(
                LotteryRound.objects.filter(
                    month__gte=add_months(self.today.replace(day=1), -13)
                ).values_list("month", "state")
            )
        return self._rounds

    def status(self, unit: Unit, day: date) -> str:
        """FREE when first-come is open, else why not (PAST, LOTTERY, NOT_YET)."""
        if day < self.today:
            return PAST
        if unit.lottery:
            entry_month = add_months(day.replace(day=1), -unit.facility.months_ahead)
            state = self._round_states().get(entry_month)
            if state is not None:
                return FREE if state in ("published", "finished") else LOTTERY
        return FREE if day <= self.horizon else NOT_YET


@dataclass(frozen=True)
class Cell:
    slot: slotlib.Slot
    status: str
    booking_id: int | None = None


def _active_ranges(unit_ids: list[int], first: datetime, last: datetime) -> dict[int, list]:
    window = DateTimeTZRange(first, last, "[)")
    rows = (
        Booking.objects.filter(
            unit_id__in=unit_ids, state__in=ACTIVE_STATES, during__overlap=window
        )
        .order_by("during")
        .values_list("unit_id", "during", "id")
    )
    by_unit: dict[int, list] = defaultdict(list)
    for unit_id, during, pk in rows:
        by_unit[unit_id].append((during.lower, during.upper, pk))
    return by_unit


def _closure_ranges(units: list[Unit], first: datetime, last: datetime) -> dict[int, list]:
    window = DateTimeTZRange(first, last, "[)")
    facility_ids = {u.facility_id for u in units}
    by_unit: dict[int, list] = defaultdict(list)
    closures = Closure.objects.filter(facility_id__in=facility_ids, during__overlap=window)
    for closure in closures.values("facility_id", "unit_id", "during"):
        for unit in units:
            if unit.facility_id == closure["facility_id"] and closure["unit_id"] in (None, unit.pk):
                by_unit[unit.pk].append((closure["during"].lower, closure["during"].upper, None))
    return by_unit


def _overlapping(ranges: list, start: datetime, end: datetime, *, disjoint: bool = True):
    """The range of a list sorted by start that overlaps [start, end), or None.

    A unit's active bookings never overlap each other (the exclusion constraint), so their
    ends are sorted too and only the last one starting before ``end`` can reach ``start``.
    Closures may overlap: ``disjoint=False`` looks at every one."""
    if not disjoint:
        return next((r for r in ranges if r[1] > start and r[0] < end), None)
    index = bisect.bisect_left(ranges, (end,)) - 1
    if index >= 0 and ranges[index][1] > start:
        return ranges[index]
    return None


def availability(
    units: list[Unit], *, first: date, last: date, rules: Rules, today: date, now: datetime
) -> dict[int, list[Cell]]:
    """Every slot of ``units`` from ``first`` to ``last`` with its status; one query for the
    bookings, one for closures, one for the rounds. Times are compared as POSIX seconds: a
    month of a facility type is thousands of comparisons per request."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=slotlib.TOKYO)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=slotlib.TOKYO)
    ids = [u.pk for u in units]
    booked = _active_ranges(ids, start, end)
    closed = _closure_ranges(units, start, end)
    window = FirstComeWindow(rules, today)
    now_ts = now.timestamp()
    out: dict[int, list[Cell]] = {}
    for unit in units:
        plan = plan_of(unit)
        # A unit's active bookings never overlap (the exclusion constraint): sorted by start,
        # their ends are sorted too, so only the last one starting before a slot ends can
        # reach into it.
        taken = [(lo.timestamp(), hi.timestamp(), pk) for lo, hi, pk in booked.get(unit.pk, [])]
        lows = [t[0] for t in taken]
        shut = [(lo.timestamp(), hi.timestamp()) for lo, hi, _pk in closed.get(unit.pk, [])]
        cells = []
        for day in slotlib.days(first, last):
            day_slots = slotlib.slots_for_day(plan, day)
            if not day_slots:
                continue
            day_status = window.status(unit, day)
            for slot in day_slots:
                s, e = slot.start_at.timestamp(), slot.end_at.timestamp()
                index = bisect.bisect_left(lows, e) - 1
                if index >= 0 and taken[index][1] > s:
                    cells.append(Cell(slot, BOOKED, taken[index][2]))
                elif any(lo < e and hi > s for lo, hi in shut):
                    cells.append(Cell(slot, CLOSED))
                elif day_status == FREE and s <= now_ts:
                    cells.append(Cell(slot, PAST))
                else:
                    cells.append(Cell(slot, day_status))
        out[unit.pk] = cells
    return out


# The availability API's answer, built by PostgreSQL in one statement: the slots come from
# generate_series over the days (and the hours of hourly units), each slot's state from an index
# probe of the bookings (the exclusion constraint's GiST index) and of the closures, and the JSON
# from json_agg, so no slot becomes a Python object. The rules are availability()'s (above) and
# slots.slots_for_day's; tests compare the two on the same data. National holidays come from
# jpholiday (the law changes; PostgreSQL has no calendar of them) as a parameter. Asia/Tokyo has
# had no daylight saving since 1951, so a local time is written with +09:00.
_AVAILABILITY_SQL = """
WITH u AS (
    SELECT u.id, u.code, u.name_ja, u.name_en, u.slot_mode, u.slot_minutes, u.lottery,
           f.id AS facility_id, f.code AS facility_code, f.months_ahead,
           f.closed_on_holidays, f.year_end_closed,
           row_number() OVER (ORDER BY f."order", f.code, u."order", u.code) AS rn
      FROM facilities_unit u JOIN facilities_facility f ON f.id = u.facility_id
     WHERE u.id IN ({units})
), open_day AS (
    SELECT u.id AS unit_id, d.day::date AS day, h.opens, h.closes
      FROM u
     CROSS JOIN generate_series(%s::date, %s::date, interval '1 day') AS d(day)
      JOIN facilities_openinghours h
        ON h.facility_id = u.facility_id AND h.weekday = extract(isodow FROM d.day)::int - 1
     WHERE NOT (u.year_end_closed AND (to_char(d.day, 'MMDD') >= '1229'
                                       OR to_char(d.day, 'MMDD') <= '0103'))
       AND NOT (u.closed_on_holidays AND d.day::date = ANY(%s::date[]))
), slot AS (
    SELECT o.unit_id, o.day, o.day + p.starts AS starts, o.day + p.ends AS ends, p.code AS period
      FROM open_day o JOIN u ON u.id = o.unit_id JOIN facilities_period p ON p.unit_id = u.id
     WHERE u.slot_mode = 'fixed' AND o.opens <= p.starts AND p.ends <= o.closes
    UNION ALL
    SELECT o.unit_id, o.day, t.starts, t.starts + make_interval(mins => u.slot_minutes), ''
      FROM open_day o JOIN u ON u.id = o.unit_id
     CROSS JOIN LATERAL generate_series(
           o.day + o.opens,
           o.day + o.closes - make_interval(mins => u.slot_minutes),
           make_interval(mins => u.slot_minutes)) AS t(starts)
     WHERE u.slot_mode = 'hourly'
), span AS (
    SELECT s.*, tstzrange(s.starts AT TIME ZONE 'Asia/Tokyo', s.ends AT TIME ZONE 'Asia/Tokyo',
                          '[)') AS during
      FROM slot s
), window_booking AS MATERIALIZED (
    -- The window's active bookings in one scan, each once per local day it touches; a slot
    -- (always within one day) then finds its own by a hash join on unit and day with the
    -- overlap as filter (a GiST probe per slot cost several times more).
    SELECT b.unit_id, b.during, d.day::date AS day
      FROM facilities_booking b
     CROSS JOIN LATERAL generate_series(
           (lower(b.during) AT TIME ZONE 'Asia/Tokyo')::date,
           ((upper(b.during) - interval '1 microsecond') AT TIME ZONE 'Asia/Tokyo')::date,
           interval '1 day') AS d(day)
     WHERE b.unit_id IN (SELECT id FROM u) AND b.state IN %s
       AND b.during && tstzrange(%s::date::timestamp AT TIME ZONE 'Asia/Tokyo',
                                 (%s::date + 1)::timestamp AT TIME ZONE 'Asia/Tokyo', '[)')
), booked AS (
    SELECT DISTINCT s.unit_id, s.starts
      FROM span s
      JOIN window_booking b
        ON b.unit_id = s.unit_id AND b.day = s.day AND b.during && s.during
), closed AS (
    SELECT DISTINCT s.unit_id, s.starts
      FROM span s
      JOIN u ON u.id = s.unit_id
      JOIN facilities_closure c
        ON c.facility_id = u.facility_id AND (c.unit_id IS NULL OR c.unit_id = s.unit_id)
       AND c.during && s.during
), cell AS (
    SELECT s.unit_id, s.starts, s.ends, s.period,
           CASE
             WHEN bk.unit_id IS NOT NULL THEN 'booked'
             WHEN cl.unit_id IS NOT NULL THEN 'closed'
             WHEN s.day < %s::date THEN 'past'
             WHEN u.lottery AND r.state IS NOT NULL AND r.state NOT IN ('published', 'finished')
               THEN 'lottery'
             WHEN NOT (u.lottery AND r.state IS NOT NULL) AND s.day > %s::date THEN 'not_yet'
             WHEN s.starts AT TIME ZONE 'Asia/Tokyo' <= %s THEN 'past'
             ELSE 'free'
           END AS status
      FROM span s JOIN u ON u.id = s.unit_id
      LEFT JOIN booked bk ON bk.unit_id = s.unit_id AND bk.starts = s.starts
      LEFT JOIN closed cl ON cl.unit_id = s.unit_id AND cl.starts = s.starts
      LEFT JOIN facilities_lotteryround r
        ON u.lottery AND r.month >= %s::date
       AND r.month = (date_trunc('month', s.day) - make_interval(months => u.months_ahead))::date
), by_unit AS (
    SELECT unit_id,
           json_agg(json_build_object(
               'start', to_char(starts, 'YYYY-MM-DD"T"HH24:MI:SS"+09:00"'),
               'end', to_char(ends, 'YYYY-MM-DD"T"HH24:MI:SS"+09:00"'),
               'period', period,
               'status', status) ORDER BY starts, period) AS slots
      FROM cell GROUP BY unit_id
)
SELECT coalesce(json_agg(json_build_object(
           'facility', u.facility_code, 'unit', u.code, 'name_ja', u.name_ja,
           'name_en', u.name_en, 'slots', coalesce(b.slots, '[]'::json)) ORDER BY u.rn),
       '[]'::json)::text
  FROM u LEFT JOIN by_unit b ON b.unit_id = u.id
"""


def availability_json(
    units: QuerySet[Unit], *, first: date, last: date, rules: Rules, today: date, now: datetime
) -> str:
    """The availability API's answer (a JSON list, per unit its slots with their status) for
    ``units`` from ``first`` to ``last``, made by PostgreSQL in one query."""
    import jpholiday

    unit_sql, unit_params = units.order_by().values("pk").query.sql_with_params()
    holidays = [day for day, _name in jpholiday.between(first, last)]
    params = [
        *unit_params,
        first,
        last,
        holidays,
        tuple(ACTIVE_STATES),
        first,
        last,
        today,
        today + timedelta(days=rules.first_come_days_ahead),
        now,
        add_months(today.replace(day=1), -13),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_AVAILABILITY_SQL.format(units=unit_sql), params)
        return cursor.fetchone()[0]


# The availability API is read far more than bookings change: its answers are cached under a
# version that every change of a booking, a closure or a round raises (after the commit).
AVAILABILITY_VERSION_KEY = "facilities:availability:version"


def availability_version() -> int:
    from django.core.cache import cache

    version = cache.get(AVAILABILITY_VERSION_KEY)
    if version is None:
        cache.add(AVAILABILITY_VERSION_KEY, 1, timeout=None)
        version = cache.get(AVAILABILITY_VERSION_KEY) or 1
    return int(version)


def availability_version_now() -> int | None:
    """The data version as Redis has it now (one GET), or None when absent or unreachable."""
    from django.core.cache import cache

    return cache.get_counter(AVAILABILITY_VERSION_KEY)


def availability_changed() -> None:
    """Call inside the transaction that changed bookings, closures or rounds."""
    from django.core.cache import cache
    from django.db import transaction

    def bump() -> None:
        try:
            cache.incr(AVAILABILITY_VERSION_KEY)
        except ValueError:
            cache.set(AVAILABILITY_VERSION_KEY, 2, timeout=None)

    transaction.on_commit(bump)


def search_units(*, kind: str = "", area: str = "") -> QuerySet[Unit]:
    units = Unit.objects.filter(active=True, facility__active=True)
    if kind:
        units = units.filter(facility__kind=kind)
    if area:
        units = units.filter(facility__area_ja=area)
    return units.order_by("facility__order", "facility__code", "order", "code")


def areas() -> list[tuple[str, str]]:
    return list(
        Facility.objects.filter(active=True)
        .order_by("area_ja")
        .values_list("area_ja", "area_en")
        .distinct()
    )


# --- a user's own ------------------------------------------------------------------------------


def registrations_of(user) -> QuerySet[Registration]:
    if user is None or not user.is_authenticated:
        return Registration.objects.none()
    return Registration.objects.filter(representative=user)


def usable_registrations(user, *, on: date) -> list[Registration]:
    """Approved, unexpired registrations the user represents (temporary ones included)."""
    return list(
        registrations_of(user)
        .filter(state=Registration.State.APPROVED, valid_until__gte=on)
        .order_by("kind", "number")
    )


def bookings_of(user) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(registration__representative=user)
        .select_related("unit__facility", "registration")
        .order_by("-during")
    )


def booking_of(user, pk: int) -> Booking | None:
    return bookings_of(user).filter(pk=pk).first()


# --- staff -------------------------------------------------------------------------------------


def week(facility: Facility, *, first: date) -> dict:
    """The staff week calendar: every unit's slots over seven days with the booking in each."""
    units = units_with_plan(facility.units.filter(active=True).order_by("order", "code"))
    last = first + timedelta(days=6)
    start = datetime.combine(first, datetime.min.time(), tzinfo=slotlib.TOKYO)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=slotlib.TOKYO)
    bookings = {
        b.pk: b
        for b in Booking.objects.filter(
            unit__in=units,
            state__in=ACTIVE_STATES,
            during__overlap=DateTimeTZRange(start, end, "[)"),
        ).select_related("registration")
    }
    booked = _active_ranges([u.pk for u in units], start, end)
    closed = _closure_ranges(units, start, end)
    days = [first + timedelta(days=i) for i in range(7)]
    rows = []
    for unit in units:
        plan = plan_of(unit)
        per_day = []
        for day in days:
            cells = []
            reason = slotlib.closed_reason(plan, day)
            for slot in slotlib.slots_for_day(plan, day):
                hit = _overlapping(booked.get(unit.pk, []), slot.start_at, slot.end_at)
                closure = _overlapping(
                    closed.get(unit.pk, []), slot.start_at, slot.end_at, disjoint=False
                )
                cells.append(
                    {
                        "slot": slot,
                        "booking": bookings.get(hit[2]) if hit else None,
                        "closed": closure is not None,
                    }
                )
            per_day.append({"day": day, "closed_reason": reason, "cells": cells})
        rows.append({"unit": unit, "days": per_day})
    return {"facility": facility, "days": days, "rows": rows}


def bookings_on(facility: Facility, day: date) -> QuerySet[Booking]:
    """The day's bookings at a facility, for check-in at the door (利用確認)."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=slotlib.TOKYO)
    window = DateTimeTZRange(start, start + timedelta(days=1), "[)")
    return (
        Booking.objects.filter(
            unit__facility=facility,
            during__overlap=window,
            state__in=("confirmed", "reserved", "paid", "used", "no_show"),
        )
        .select_related("unit", "registration")
        .order_by("during", "unit__order")
    )


def usage(*, first_month: date, last_month: date, facility: Facility | None = None) -> list[dict]:
    """稼働率: per unit and month, the hours offered (the slot plan less closures), the hours
    booked (bookings that occupied the unit, official use included) and their ratio."""
    units = units_with_plan(
        Unit.objects.filter(active=True, **({"facility": facility} if facility else {}))
    )
    start = datetime.combine(first_month, datetime.min.time(), tzinfo=slotlib.TOKYO)
    end_month = add_months(last_month, 1)
    end = datetime.combine(end_month, datetime.min.time(), tzinfo=slotlib.TOKYO)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT unit_id,
                   date_trunc('month', lower(during) AT TIME ZONE 'Asia/Tokyo')::date AS month,
                   count(*),
                   count(*) FILTER (WHERE state = 'no_show'),
                   sum(extract(epoch FROM upper(during) - lower(during))) / 3600.0
              FROM facilities_booking
             WHERE unit_id = ANY(%s)
               AND state IN ('won', 'confirmed', 'reserved', 'paid', 'used', 'no_show')
               AND during && tstzrange(%s, %s, '[)')
             GROUP BY 1, 2
            """,
            [[u.pk for u in units], start, end],
        )
        booked = {(row[0], row[1]): row[2:] for row in cursor.fetchall()}
    closed = _closure_ranges(units, start, end)
    rows = []
    month = first_month
    while month < end_month:
        month_last = add_months(month, 1) - timedelta(days=1)
        for unit in units:
            offered = 0.0
            for slot in slotlib.slots_between(plan_of(unit), month, month_last):
                if _overlapping(
                    closed.get(unit.pk, []), slot.start_at, slot.end_at, disjoint=False
                ):
                    continue
                offered += (slot.end_at - slot.start_at).total_seconds() / 3600
            count, no_shows, hours = booked.get((unit.pk, month), (0, 0, 0.0))
            hours = float(hours or 0)
            rows.append(
                {
                    "month": month,
                    "unit": unit,
                    "offered_hours": round(offered, 1),
                    "booked_hours": round(hours, 1),
                    "bookings": count,
                    "no_shows": no_shows,
                    "rate": round(hours * 100 / offered, 1) if offered else 0.0,
                }
            )
        month = add_months(month, 1)
    return rows


def staff_registrations(*, state: str = "", query: str = "") -> QuerySet[Registration]:
    found = Registration.objects.exclude(kind=Registration.Kind.TEMPORARY).select_related(
        "representative"
    )
    if state:
        found = found.filter(state=state)
    if query:
        found = found.filter(Q(name__icontains=query) | Q(number__iexact=query))
    return found.order_by("state", "-created_at")
