"""A lottery round from opening to confirmation: entries within the caps, the seed committed
when entries close, the draw re-run from the published files, tiers, release of unconfirmed
wins, and penalty points barring entries."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from factories_facilities import group, individual, make_facility, make_unit, members, open_round
from psycopg2.extras import DateTimeTZRange

from facilities import draw
from facilities.models import Booking, Entry, LotteryRound, PenaltyPoint, RoundSlot
from facilities.services import bookings, lottery, registrations

pytestmark = pytest.mark.django_db


def slots_of(round_, unit):
    return list(RoundSlot.objects.filter(round=round_, unit=unit).order_by("starts_at"))


def drawn(round_, clerk):
    lottery.close_round(round_=round_)
    lottery.start_draw(round_=round_, clerk=clerk)
    return lottery.run_draw(round_.pk)


def test_the_round_offers_its_units_slots_of_the_month_two_or_six_months_ahead():
    gym = make_unit(make_facility(), lottery=True)
    hall = make_unit(make_facility(kind="hall", months_ahead=6), lottery=True)
    first_come_only = make_unit(make_facility())
    round_ = open_round()
    gym_days = {s.starts_at.astimezone().date().replace(day=1) for s in slots_of(round_, gym)}
    hall_days = {s.starts_at.astimezone().date().replace(day=1) for s in slots_of(round_, hall)}
    assert gym_days == {lottery.target_month(round_, gym.facility)}
    assert lottery.target_month(round_, gym.facility).month == (round_.month.month + 1) % 12 + 1
    assert hall_days == {lottery.target_month(round_, hall.facility)}
    assert not RoundSlot.objects.filter(unit=first_come_only).exists()


def test_entries_keep_the_caps_and_temporary_users_cannot_enter(supervisor):
    unit = make_unit(make_facility(), lottery=True)
    round_ = open_round(entries=2, choices=2)
    slots = slots_of(round_, unit)
    person = individual()
    user = person.representative
    lottery.enter(
        round_=round_, registration=person, user=user, slot_ids=[slots[0].pk, slots[1].pk]
    )
    with pytest.raises(ValidationError, match="同じコマには1回だけ"):
        lottery.enter(round_=round_, registration=person, user=user, slot_ids=[slots[1].pk])
    with pytest.raises(ValidationError, match="第2希望まで"):
        lottery.enter(
            round_=round_, registration=person, user=user, slot_ids=[s.pk for s in slots[2:5]]
        )
    lottery.enter(round_=round_, registration=person, user=user, slot_ids=[slots[2].pk])
    with pytest.raises(ValidationError, match="2件まで"):
        lottery.enter(round_=round_, registration=person, user=user, slot_ids=[slots[3].pk])
    # The cap is counted per round and applicant (not over every round, Tilavarauspalvelu #733):
    # another person enters freely.
    other = individual()
    lottery.enter(
        round_=round_, registration=other, user=other.representative, slot_ids=[slots[0].pk]
    )

    temporary = registrations.register_temporary(
        user=other.representative, name="一時 利用", name_kana="イチジ リヨウ"
    )
    with pytest.raises(ValidationError, match="一時利用者は抽選に申し込めません"):
        lottery.enter(
            round_=round_, registration=temporary, user=other.representative, slot_ids=[slots[5].pk]
        )

    # The database holds the cap too: a third entry written past the service is refused.
    with pytest.raises(IntegrityError, match="the cap is 2"), transaction.atomic():
        Entry.objects.create(
            round=round_, registration=person, facility=unit.facility, entered_by=user, number="EX1"
        )
    lottery.close_round(round_=round_)
    with pytest.raises(ValidationError, match="申込期間外"):
        lottery.enter(
            round_=round_, registration=other, user=other.representative, slot_ids=[slots[6].pk]
        )
    with pytest.raises(IntegrityError, match="is not open for entries"), transaction.atomic():
        Entry.objects.create(
            round=round_,
            registration=other,
            facility=unit.facility,
            entered_by=other.representative,
            number="EX2",
        )


def test_closing_commits_to_the_seed_and_the_published_draw_can_be_run_again(supervisor, clerk):
    facility = make_facility(tiers=[["resident_group"], ["resident", "group", "nonresident"]])
    unit = make_unit(facility, lottery=True)
    round_ = open_round(wins=1)
    slots = slots_of(round_, unit)[:6]
    people = [individual() for _ in range(12)]
    for person in people:
        lottery.enter(
            round_=round_,
            registration=person,
            user=person.representative,
            slot_ids=[slots[0].pk, slots[1].pk],
        )
    club = group(clerk=clerk)
    lottery.enter(
        round_=round_, registration=club, user=club.representative, slot_ids=[slots[0].pk]
    )

    with pytest.raises(PermissionDenied):
        lottery.start_draw(round_=round_, clerk=clerk)  # a clerk may not run the draw
    round_ = lottery.close_round(round_=round_)
    assert round_.state == "closed"
    entries_file = bytes(round_.entries_file)
    assert draw.sha256_hex(entries_file) == round_.entries_sha256
    assert draw.sha256_hex(bytes.fromhex(round_.seed)) == round_.seed_sha256
    published = json.loads(entries_file)
    assert len(published["entries"]) == 13
    # No personal data in the public file: no names, no registration numbers.
    text = entries_file.decode()
    assert club.name not in text and club.number not in text
    assert all(p.name not in text and p.number not in text for p in people)
    # The commitment is final.
    with pytest.raises(IntegrityError, match="committed when entries closed"), transaction.atomic():
        LotteryRound.objects.filter(pk=round_.pk).update(seed="ab" * 32)

    lottery.start_draw(round_=round_, clerk=supervisor)
    round_ = lottery.run_draw(round_.pk)
    assert round_.state == "drawn" and round_.percent == 100
    # Tier 1 (city groups) before everyone else: the club wins its first choice.
    club_entry = Entry.objects.get(round=round_, registration=club)
    assert club_entry.state == "won" and club_entry.won_slot_id == slots[0].pk
    # Each applicant wins at most one (wins cap 1); slot 1 goes to one of the twelve.
    assert Entry.objects.filter(round=round_, state="won").count() == 2
    assert Booking.objects.filter(entry__round=round_, state="won").count() == 2

    lottery.publish(round_=round_, clerk=supervisor)
    round_.refresh_from_db()
    results = json.loads(bytes(round_.results_file))
    assert results["seed"] == round_.seed
    assert draw.verify(entries_file, results, published_seed_sha256=round_.seed_sha256) == []
    # Running the draw again changes nothing.
    again = lottery.run_draw(round_.pk)
    assert bytes(again.results_file) == bytes(round_.results_file)


def test_an_unconfirmed_win_is_released_at_the_deadline_and_becomes_bookable(supervisor):
    unit = make_unit(make_facility(), lottery=True)
    round_ = open_round()
    slot = slots_of(round_, unit)[0]
    winner, confirmed_winner, latecomer = individual(), individual(), individual()
    lottery.enter(
        round_=round_, registration=winner, user=winner.representative, slot_ids=[slot.pk]
    )
    other = slots_of(round_, unit)[1]
    lottery.enter(
        round_=round_,
        registration=confirmed_winner,
        user=confirmed_winner.representative,
        slot_ids=[other.pk],
    )
    drawn(round_, supervisor)
    lottery.publish(round_=round_, clerk=supervisor)
    won = Booking.objects.get(entry__registration=winner)
    kept = Booking.objects.get(entry__registration=confirmed_winner)
    lottery.confirm_win(booking=kept, user=confirmed_winner.representative)
    kept.refresh_from_db()
    assert won.state == "won" and kept.state == "confirmed" and kept.charge_id is not None

    # Before the deadline the slot is taken.
    with pytest.raises(ValidationError, match="すでに予約されています"):
        bookings.hold_first_come(
            registration=latecomer,
            user=latecomer.representative,
            unit=unit,
            starts_at=slot.starts_at,
        )
    # The deadline passes (the beat job runs after it).
    Booking.objects.filter(pk__in=[won.pk, kept.pk]).update(
        pay_by=timezone.now() - timedelta(minutes=1)
    )
    assert bookings.lapse_unpaid() == 2
    won.refresh_from_db()
    kept.refresh_from_db()
    assert won.state == "forfeited" and kept.state == "forfeited"
    # The unpaid fee is withdrawn from the ledger: nothing is owed for a lapsed win.
    from payments.models import Charge

    assert Charge.objects.get(pk=kept.charge_id).amount == 0
    booking = bookings.hold_first_come(
        registration=latecomer, user=latecomer.representative, unit=unit, starts_at=slot.starts_at
    )
    assert booking.state == "held" and booking.kind == "first_come"


def test_penalty_points_bar_lottery_entries(clerk):
    unit = make_unit(make_facility())
    person = individual()
    user = person.representative
    day = timezone.localdate() + timedelta(days=1)
    from factories_facilities import at

    def no_show(hour):
        room = make_unit(unit.facility)
        booking = bookings.hold_first_come(
            registration=person, user=user, unit=room, starts_at=at(day, hour)
        )
        # Paid, and its time began an hour ago; the clerk at the door marks that nobody came.
        Booking.objects.filter(pk=booking.pk).update(
            state="paid",
            during=DateTimeTZRange(
                timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=2)
            ),
        )
        return bookings.mark_no_show(booking=booking, clerk=clerk)

    no_show(9)
    person.refresh_from_db()
    assert person.lottery_barred_until is None  # 2 points of 4

    late = bookings.hold_first_come(
        registration=person, user=user, unit=unit, starts_at=at(day, 13)
    )
    bookings.pay_later(booking=late, user=user)
    bookings.cancel(booking=late, actor=user)  # tomorrow: a late cancellation, 1 point
    person.refresh_from_db()
    assert person.lottery_barred_until is None  # 3 points
    lottery_unit = make_unit(make_facility(), lottery=True)
    round_ = open_round()
    slot_ids = [s.pk for s in slots_of(round_, lottery_unit)[:2]]
    lottery.enter(round_=round_, registration=person, user=user, slot_ids=[slot_ids[0]])

    no_show(18)  # 5 points: the limit of 4 is reached
    person.refresh_from_db()
    assert person.lottery_barred_until == timezone.localdate() + timedelta(days=90)
    assert PenaltyPoint.objects.filter(registration=person).count() == 3
    with pytest.raises(ValidationError, match="ペナルティ点数が上限に達したため"):
        lottery.enter(round_=round_, registration=person, user=user, slot_ids=[slot_ids[1]])
    # First-come booking is still allowed: the restriction is on lottery entries.
    tomorrow_evening = bookings.hold_first_come(
        registration=person, user=user, unit=make_unit(unit.facility), starts_at=at(day, 18)
    )
    assert tomorrow_evening.state == "held"


def test_group_rules_minimum_members_duplicates_and_two_groups_per_person(clerk):
    from factories_facilities import resident_account

    user = resident_account()
    with pytest.raises(ValidationError, match="5人以上"):
        registrations.apply_group(
            user=user, name="小さな会", name_kana="チイサナカイ", members=members(4)
        )
    first = group(user, clerk=clerk, name="青空テニス会", rows=members(6, prefix="青空"))
    assert first.in_city and first.valid_until.year == timezone.localdate().year + 3
    # Three of the same people under another name is the same group twice.
    copy = members(3, prefix="青空") + members(3, prefix="夕焼")
    with pytest.raises(ValidationError, match="重ねて登録することはできません"):
        registrations.apply_group(
            user=resident_account(), name="青空テニス部", name_kana="アオゾラテニスブ", members=copy
        )
    # Mostly from outside the city: registered, as a 市外団体 (non-resident rate, later tier).
    outside = group(user, clerk=clerk, name="広域合唱団", rows=members(6, prefix="広域", outside=4))
    assert not outside.in_city and outside.rate == "nonresident"
    with pytest.raises(ValidationError, match="2団体まで"):
        registrations.apply_group(
            user=user,
            name="三つ目の会",
            name_kana="ミッツメノカイ",
            members=members(5, prefix="三つ目"),
        )
    with pytest.raises(ValidationError, match="1人1件まで"):
        registrations.register_individual(user=user)
        registrations.register_individual(user=user)


def test_the_round_calendar_follows_the_citys_rules_and_the_beat_job_moves_rounds(
    settings, supervisor
):
    from datetime import date, datetime, time

    from facilities.slots import TOKYO

    tokyo = lambda d, h=0: datetime.combine(d, time(h), tzinfo=TOKYO)  # noqa: E731
    default = lottery.round_schedule(date(2027, 3, 1), lottery.rules())
    # Entries from the 1st to the end of the 15th, results on the 16th, confirmation 10 days.
    assert default["opens_at"] == tokyo(date(2027, 3, 1))
    assert default["closes_at"] == tokyo(date(2027, 3, 16))
    assert default["results_at"] == tokyo(date(2027, 3, 16), 9)
    assert default["confirm_by"] == tokyo(date(2027, 3, 27))
    settings.FACILITY_RULES = {"entry_close_day": 20, "results_day": 22, "confirm_days": 7}
    custom = lottery.round_schedule(date(2027, 3, 1), lottery.rules())
    assert custom["closes_at"] == tokyo(date(2027, 3, 21))
    assert custom["results_at"] == tokyo(date(2027, 3, 22), 9)
    assert custom["confirm_by"] == tokyo(date(2027, 3, 30))
    settings.FACILITY_RULES = {"entry_close_day": 20, "results_day": 18}
    with pytest.raises(ValueError, match="results_day"):
        lottery.rules()
    settings.FACILITY_RULES = {}

    # The beat job: this month's and next month's rounds exist; a round opens when its opening
    # time has passed, closes (committing to its seed) when its closing time has passed, and
    # finishes once the confirmation deadline is over. Running it twice changes nothing more.
    make_unit(make_facility(), lottery=True)
    lottery.advance_rounds()
    this_month = timezone.localdate().replace(day=1)
    next_month = (this_month + timedelta(days=32)).replace(day=1)
    assert set(LotteryRound.objects.values_list("month", flat=True)) == {this_month, next_month}
    round_ = LotteryRound.objects.get(month=next_month)
    assert round_.state == "scheduled"  # its entries open on the 1st of next month
    assert lottery.advance_rounds() == []
    moment = timezone.now()
    LotteryRound.objects.filter(pk=round_.pk).update(opens_at=moment - timedelta(minutes=5))
    assert lottery.advance_rounds() == [f"{round_.code} opened"]
    assert lottery.advance_rounds() == []
    round_.refresh_from_db()
    assert round_.state == "open" and round_.seed_sha256 == ""
    assert RoundSlot.objects.filter(round=round_).exists()
    LotteryRound.objects.filter(pk=round_.pk).update(
        closes_at=moment - timedelta(minutes=2), results_at=moment - timedelta(minutes=1)
    )
    assert lottery.advance_rounds() == [f"{round_.code} closed"]
    round_.refresh_from_db()
    assert round_.state == "closed" and len(round_.seed_sha256) == 64
    lottery.start_draw(round_=round_, clerk=supervisor)
    lottery.run_draw(round_.pk)
    lottery.publish(round_=round_, clerk=supervisor)
    assert lottery.advance_rounds() == []  # winners still have until the deadline
    LotteryRound.objects.filter(pk=round_.pk).update(confirm_by=timezone.now())
    assert lottery.advance_rounds() == [f"{round_.code} finished"]
    assert lottery.advance_rounds() == []
