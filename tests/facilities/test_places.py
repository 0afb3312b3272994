"""Which slots a unit offers (fixed periods or hourly, within opening hours, never on
national holidays when the facility closes on them, never at the year end), and facilities on the
city map."""

from __future__ import annotations

import json
from datetime import date, time, timedelta

import jpholiday
import pytest
from django.contrib.gis.geos import Point
from factories_facilities import at, individual, make_facility, make_unit

from facilities import selectors
from facilities import slots as slotlib
from facilities.services import places
from facilities.services.common import rules

OPEN_EVERY_DAY = {weekday: (time(9), time(21)) for weekday in range(7)}


def plan(**fields) -> slotlib.UnitPlan:
    defaults = {
        "unit_id": 1,
        "code": "court-1",
        "slot_mode": slotlib.HOURLY,
        "hours": OPEN_EVERY_DAY,
        "fee_resident": 500,
        "fee_group": 400,
        "fee_nonresident": 1_000,
        "closed_on_holidays": True,
    }
    return slotlib.UnitPlan(**(defaults | fields))


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2027, 1, 11), "成人の日 (second Monday of January)"),
        (date(2026, 5, 6), "振替休日 (憲法記念日 3 May 2026 is a Sunday)"),
        (date(2026, 9, 22), "国民の休日 (between 敬老の日 and 秋分の日)"),
        (date(2027, 3, 21), "春分の日 (by the astronomical table)"),
    ],
)
def test_a_facility_closed_on_holidays_offers_nothing_on_any_kind_of_holiday(day, why):
    assert jpholiday.is_holiday(day), why
    closing = plan()
    assert slotlib.closed_reason(closing, day) == slotlib.CLOSED_HOLIDAY
    assert slotlib.slots_for_day(closing, day) == []
    # The next working day is open, and a facility that opens on holidays opens that day.
    working = next(
        d for d in slotlib.days(day, day + timedelta(days=7)) if not jpholiday.is_holiday(d)
    )
    assert len(slotlib.slots_for_day(closing, working)) == 12
    assert len(slotlib.slots_for_day(plan(closed_on_holidays=False), day)) == 12


def test_the_year_end_and_the_weekly_closed_day_offer_nothing():
    mondays_closed = plan(hours={w: h for w, h in OPEN_EVERY_DAY.items() if w != 0})
    assert [d.day for d in slotlib.days(date(2026, 12, 27), date(2027, 1, 5))
            if slotlib.slots_for_day(mondays_closed, d)] == [27, 5]  # fmt: skip
    assert slotlib.closed_reason(mondays_closed, date(2026, 12, 29)) == slotlib.CLOSED_YEAR_END
    assert slotlib.closed_reason(mondays_closed, date(2027, 1, 3)) == slotlib.CLOSED_YEAR_END
    # 2027-01-04 is a Monday: the weekly closed day.
    assert slotlib.closed_reason(mondays_closed, date(2027, 1, 4)) == slotlib.CLOSED_WEEKLY
    # A city whose facility stays open at the year end says so per facility.
    assert slotlib.slots_for_day(plan(year_end_closed=False), date(2026, 12, 30))


def test_hourly_units_cut_the_opening_hours_into_slots_of_their_length():
    day = date(2026, 12, 8)  # a Tuesday, no holiday
    hours = {1: (time(9), time(21))}
    hourly = slotlib.slots_for_day(plan(hours=hours), day)
    assert [(s.starts, s.ends) for s in hourly][:2] == [(time(9), time(10)), (time(10), time(11))]
    assert len(hourly) == 12 and hourly[-1].ends == time(21)
    assert hourly[0].name_ja == "09:00–10:00" and hourly[0].fee_for("nonresident") == 1_000
    # 90-minute slots: the last one that fits ends at 19:30, not past closing time.
    ninety = slotlib.slots_for_day(plan(hours=hours, slot_minutes=90), day)
    assert len(ninety) == 8 and ninety[-1].ends == time(21)
    short = slotlib.slots_for_day(plan(hours={1: (time(9), time(20))}, slot_minutes=90), day)
    assert [s.ends for s in short][-1] == time(19, 30)


def test_fixed_periods_are_offered_only_within_the_days_opening_hours():
    periods = tuple(
        slotlib.Period(code, code, code, starts, ends, 1_000, 800, 2_000)
        for code, starts, ends in (
            ("am", time(9), time(12)),
            ("pm", time(13), time(17)),
            ("night", time(18), time(21)),
        )
    )
    # Saturdays close at 17:00: no evening period that day.
    hours = {1: (time(9), time(21)), 5: (time(9), time(17))}
    fixed = plan(slot_mode=slotlib.FIXED, periods=periods, hours=hours)
    assert [s.period_code for s in slotlib.slots_for_day(fixed, date(2026, 12, 8))] == [
        "am",
        "pm",
        "night",
    ]
    assert [s.period_code for s in slotlib.slots_for_day(fixed, date(2026, 12, 12))] == [
        "am",
        "pm",
    ]


@pytest.mark.django_db
def test_a_holiday_is_closed_in_the_grid_the_week_calendar_and_for_booking(client, clerk):
    facility = make_facility(closed_on_holidays=True)
    unit = make_unit(facility, hourly=True)
    holiday = date(2027, 1, 11)  # 成人の日
    unit = selectors.unit_with_plan(unit.pk)
    cells = selectors.availability(
        [unit],
        first=holiday - timedelta(days=1),
        last=holiday + timedelta(days=1),
        rules=rules(),
        today=holiday - timedelta(days=3),
        now=at(holiday - timedelta(days=3), 9),
    )[unit.pk]
    assert {c.slot.day for c in cells} == {holiday - timedelta(days=1), holiday + timedelta(days=1)}

    client.force_login(clerk)
    page = client.get(f"/staff/facilities/{facility.code}/week/", {"date": holiday.isoformat()})
    assert "祝日の休館" in page.content.decode()

    # The booking service finds no slot that day.
    from django.core.exceptions import ValidationError

    from facilities.services import bookings

    with pytest.raises(ValidationError) as refused:
        bookings.quote(registration=individual(), unit=unit, starts_at=at(holiday, 10))
    assert "starts_at" in refused.value.message_dict


@pytest.mark.django_db
def test_a_facility_is_drawn_on_the_public_map_and_follows_its_moves(client):
    facility = make_facility(name_ja="中央体育館", name_en="Central Gym")
    places.show_on_map(facility)
    places.show_on_map(facility)  # nothing changed: no new version

    page = client.get("/map/").content.decode()
    assert "予約できる施設" in page
    layer = json.loads(client.get(f"/gis/layers/{places.MAP_LAYER}.geojson").content)
    [feature] = layer["features"]
    assert feature["properties"]["name"] == "中央体育館"
    assert feature["properties"]["url"] == f"/facilities/{facility.code}/"
    assert feature["geometry"]["coordinates"] == pytest.approx([139.5, 35.7])

    from gis.models import Feature

    assert Feature.objects.filter(external_id=facility.code).count() == 1
    facility.location = Point(139.51, 35.71, srid=6668)
    facility.save()
    places.show_on_map(facility)
    layer = json.loads(client.get(f"/gis/layers/{places.MAP_LAYER}.geojson").content)
    [feature] = layer["features"]
    assert feature["geometry"]["coordinates"] == pytest.approx([139.51, 35.71])
    # The facility page shows its own small map pointing at the same place.
    assert "139.51" in client.get(f"/facilities/{facility.code}/").content.decode()


@pytest.mark.django_db
def test_the_facility_page_shows_capacity_fees_equipment_photos_and_access_in_both_languages(
    client,
):
    import io

    from django.core.files.base import ContentFile
    from factories_facilities import make_equipment
    from PIL import Image

    from facilities.models import Photo

    facility = make_facility(
        name_ja="北体育館",
        name_en="North Gym",
        accessibility_ja="車いす用の駐車場とエレベーターがあります。",
        accessibility_en="Wheelchair parking and a lift.",
        closed_on_holidays=True,
    )
    make_unit(facility, name_ja="アリーナ", name_en="Arena", capacity=120)
    make_unit(facility, hourly=True, name_ja="会議室1", name_en="Meeting room 1", capacity=12)
    make_equipment(facility, fee=1_100)
    png = io.BytesIO()
    Image.new("RGB", (32, 20), "#4f8fd6").save(png, format="PNG")
    photo = Photo(facility=facility, caption_ja="アリーナの全景", caption_en="The arena")
    photo.image.save("arena.png", ContentFile(png.getvalue()), save=True)

    page = client.get(f"/facilities/{facility.code}/").content.decode()
    for text in ("定員 120人", "定員 12人", "60分ごと", "プロジェクター", "1,100", "2,400",
                 "車いす用の駐車場", "アリーナの全景", "国民の祝日は休館です。"):  # fmt: skip
        assert text in page, text
    image = client.get(f"/facilities/photos/{photo.pk}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(f"/facilities/{facility.code}/").content.decode()
    for text in ("North Gym", "Meeting room 1", "Wheelchair parking", "The arena", "Projector"):
        assert text in page, text
    assert "車いす用の駐車場" not in page


@pytest.mark.django_db
def test_the_apis_one_query_answer_is_the_grids_answer_cell_for_cell():
    """selectors.availability_json (PostgreSQL makes the API's JSON) and selectors.availability
    (the grid, the booking checks) say the same of every slot: past days and passed slots,
    booked (not a cancelled booking), facility and unit closures, national holidays, the
    year-end closure, lottery months (open round: lottery; published: free) and the first-come
    horizon, for fixed periods and hourly units."""
    from django.utils import timezone
    from psycopg2.extras import DateTimeTZRange

    from facilities.models import Booking, Closure, LotteryRound

    today = date(2026, 12, 20)
    moment = at(today, 14)  # the morning has passed
    holidays_closed = make_facility(closed_on_holidays=True)
    always_open = make_facility(year_end_closed=False, order=1)
    lottery = make_unit(holidays_closed, lottery=True)
    hourly = make_unit(holidays_closed, hourly=True)
    plain = make_unit(always_open)
    person = individual()

    def book(unit, day, start, end, state="reserved"):
        Booking.objects.create(
            reference=f"T{unit.pk}{day:%m%d}{start:02d}",
            unit=unit,
            during=DateTimeTZRange(at(day, start), at(day, end), "[)"),
            kind="first_come",
            state=state,
            registration=person,
            rate=person.rate,
        )

    book(lottery, today, 13, 17)
    book(hourly, date(2027, 1, 5), 10, 12)  # two hourly slots
    book(plain, date(2027, 1, 6), 9, 12, state="cancelled")
    book(plain, date(2027, 1, 6), 18, 21)
    Closure.objects.create(
        facility=holidays_closed,
        kind="maintenance",
        during=DateTimeTZRange(at(date(2027, 1, 20), 10), at(date(2027, 1, 20), 15), "[)"),
    )
    Closure.objects.create(
        facility=always_open,
        unit=plain,
        kind="closed",
        during=DateTimeTZRange(at(date(2027, 1, 21), 0), at(date(2027, 1, 22), 0), "[)"),
    )
    now = timezone.now()
    for month, state in ((date(2026, 11, 1), "published"), (date(2026, 12, 1), "open")):
        LotteryRound.objects.create(
            code=f"{month:%Y-%m}",
            month=month,
            state=state,
            opens_at=now - timedelta(days=3),
            closes_at=now - timedelta(days=2),
            results_at=now - timedelta(days=1),
            confirm_by=now + timedelta(days=1),
            seed_sha256="0" * 64,
            max_entries_per_applicant=5,
            max_wins_per_applicant=2,
            max_choices_per_entry=3,
        )

    units = selectors.search_units().filter(facility__in=[holidays_closed, always_open])
    first, last = today - timedelta(days=2), date(2027, 2, 28)
    made = json.loads(
        selectors.availability_json(
            units, first=first, last=last, rules=rules(), today=today, now=moment
        )
    )
    planned = selectors.units_with_plan(units)
    cells = selectors.availability(
        planned, first=first, last=last, rules=rules(), today=today, now=moment
    )
    expected = [
        {
            "facility": unit.facility.code,
            "unit": unit.code,
            "name_ja": unit.name_ja,
            "name_en": unit.name_en,
            "slots": [
                {
                    "start": c.slot.start_at.isoformat(),
                    "end": c.slot.end_at.isoformat(),
                    "period": c.slot.period_code,
                    "status": c.status,
                }
                for c in cells[unit.pk]
            ],
        }
        for unit in planned
    ]
    assert [u["unit"] for u in made] == [plain.code, lottery.code, hourly.code]
    assert made == expected
    seen = {s["status"] for u in made for s in u["slots"]}
    assert seen == {"past", "free", "booked", "closed", "lottery", "not_yet"}
    hourly_days = {s["start"][:10] for s in made[2]["slots"]}
    assert "2027-01-11" not in hourly_days and "2026-12-31" not in hourly_days  # 成人の日, 年末
    assert "2026-12-31" in {s["start"][:10] for s in made[0]["slots"]}
