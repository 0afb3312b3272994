"""No double booking, kept by PostgreSQL: the exclusion constraint over (unit, time range) on
active bookings refuses an overlap however the requests race."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from factories_facilities import at, individual, make_facility, make_unit, next_weekday_date
from psycopg2.extras import DateTimeTZRange

from facilities.models import Booking
from facilities.services import bookings


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookers_for_one_slot_get_exactly_one_booking():
    facility = make_facility()
    unit = make_unit(facility)
    day = next_weekday_date(10)
    people = [individual() for _ in range(20)]
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []
    lock = threading.Lock()

    def book(registration):
        # Each thread has its own database connection (Django's are per thread): twenty real
        # sessions insert at the same moment.
        try:
            barrier.wait(timeout=30)
            bookings.hold_first_come(
                registration=registration,
                user=registration.representative,
                unit=unit,
                starts_at=at(day, 9),
            )
            result = "booked"
        except Exception as error:  # noqa: BLE001 - the outcome is what the test compares
            result = getattr(error, "code", None) or type(error).__name__
            if hasattr(error, "error_dict"):
                result = error.error_dict["starts_at"][0].code
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=book, args=(r,)) for r in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["booked"] + ["taken"] * 19
    active = Booking.objects.filter(unit=unit, state__in=["held", "paid", "confirmed"])
    assert active.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_an_overlap_written_past_the_services():
    facility = make_facility()
    unit = make_unit(facility)
    registration = individual()
    day = next_weekday_date(12)
    first = bookings.hold_first_come(
        registration=registration,
        user=registration.representative,
        unit=unit,
        starts_at=at(day, 9),
    )
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        # 11:00–12:30 overlaps the held 9:00–12:00, written straight to the table.
        Booking.objects.create(
            reference="RTEST0001",
            unit=unit,
            during=DateTimeTZRange(at(day, 11), at(day, 12).replace(minute=30), "[)"),
            kind="first_come",
            state="paid",
            registration=registration,
            rate="resident",
        )
    assert "no_double_booking" in str(refused.value)
    # A cancelled booking does not hold its time: the same slot can be written then.
    Booking.objects.filter(pk=first.pk).update(state="cancelled")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM facilities_booking WHERE unit_id = %s", [unit.pk])
        assert cursor.fetchone()[0] == 1
    bookings.hold_first_come(
        registration=registration,
        user=registration.representative,
        unit=unit,
        starts_at=at(day, 9),
    )
    assert Booking.objects.filter(unit=unit, state="held").count() == 1


@pytest.mark.django_db
def test_an_expired_hold_gives_its_slot_to_the_next_booker():
    facility = make_facility()
    unit = make_unit(facility)
    first, second = individual(), individual()
    day = next_weekday_date(8)
    held = bookings.hold_first_come(
        registration=first, user=first.representative, unit=unit, starts_at=at(day, 13)
    )
    with pytest.raises(Exception) as taken:
        bookings.hold_first_come(
            registration=second, user=second.representative, unit=unit, starts_at=at(day, 13)
        )
    assert "すでに予約されています" in str(taken.value)
    Booking.objects.filter(pk=held.pk).update(
        hold_expires_at=held.hold_expires_at.replace(year=2000)
    )
    mine = bookings.hold_first_come(
        registration=second, user=second.representative, unit=unit, starts_at=at(day, 13)
    )
    held.refresh_from_db()
    assert held.state == "expired" and mine.state == "held"
    assert list(held.events.values_list("to_state", flat=True)) == ["held", "expired"]


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_entries_of_one_applicant_keep_the_entry_cap():
    """Tilavarauspalvelu #733: a per-user limit checked by counting, then inserting, lets
    parallel requests pass it together. Entering locks the applicant's registration row first."""
    from factories_facilities import open_round

    from facilities.models import Entry, RoundSlot
    from facilities.services import lottery

    unit = make_unit(make_facility(), lottery=True)
    round_ = open_round(entries=3, choices=1)
    slots = list(RoundSlot.objects.filter(round=round_, unit=unit).order_by("starts_at")[:10])
    person = individual()
    barrier = threading.Barrier(len(slots))
    outcomes: list[str] = []
    lock = threading.Lock()

    def enter(slot):
        try:
            barrier.wait(timeout=30)
            lottery.enter(
                round_=round_,
                registration=person,
                user=person.representative,
                slot_ids=[slot.pk],
            )
            result = "entered"
        except Exception as error:  # noqa: BLE001 - the outcome is what the test compares
            result = type(error).__name__
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=enter, args=(slot,)) for slot in slots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["ValidationError"] * 7 + ["entered"] * 3
    assert Entry.objects.filter(round=round_, registration=person).count() == 3
