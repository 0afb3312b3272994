"""Builders for the facilities tests: facilities and units made with the ORM (they are the
city's configuration, written by admins), people and bookings through the services."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from django.contrib.gis.geos import Point
from django.utils import timezone
from factories_residents import move_in

from facilities import slots as slotlib
from facilities.models import (
    Equipment,
    Facility,
    LotteryRound,
    OpeningHours,
    Period,
    Registration,
    Unit,
)
from facilities.services import registrations
from facilities.services.registrations import MemberRow
from factories import UserFactory
from residents.models import Resident

_n = itertools.count(1)

PERIODS = [
    # code, ja, en, starts, ends, resident, group, nonresident
    ("am", "午前", "Morning", time(9), time(12), 1_200, 1_000, 2_400),
    ("pm", "午後", "Afternoon", time(13), time(17), 1_601, 1_300, 3_200),
    ("night", "夜間", "Evening", time(18), time(21), 1_800, 1_500, 3_600),
]


def make_facility(*, kind: str = "gym", months_ahead: int = 2, tiers=None, **fields) -> Facility:
    n = next(_n)
    facility = Facility.objects.create(
        code=fields.pop("code", f"fac-{n}"),
        name_ja=fields.pop("name_ja", f"第{n}体育館"),
        name_en=fields.pop("name_en", f"Gym {n}"),
        kind=kind,
        area_ja=fields.pop("area_ja", "本町"),
        area_en=fields.pop("area_en", "Honcho"),
        address="本町1丁目1番1号",
        location=Point(139.5, 35.7, srid=6668),
        months_ahead=months_ahead,
        tiers=tiers or [],
        **fields,
    )
    for weekday in range(7):
        OpeningHours.objects.create(
            facility=facility, weekday=weekday, opens=time(9), closes=time(21)
        )
    return facility


def make_unit(facility: Facility, *, lottery: bool = False, hourly: bool = False, **fields) -> Unit:
    n = next(_n)
    unit = Unit.objects.create(
        facility=facility,
        code=fields.pop("code", f"unit-{n}"),
        name_ja=fields.pop("name_ja", f"アリーナ{n}"),
        name_en=fields.pop("name_en", f"Arena {n}"),
        capacity=fields.pop("capacity", 50),
        slot_mode=Unit.SlotMode.HOURLY if hourly else Unit.SlotMode.FIXED,
        fee_resident=500,
        fee_group=400,
        fee_nonresident=1_000,
        lottery=lottery,
        **fields,
    )
    if not hourly:
        for code, ja, en, starts, ends, r, g, nr in PERIODS:
            Period.objects.create(
                unit=unit,
                code=code,
                name_ja=ja,
                name_en=en,
                starts=starts,
                ends=ends,
                fee_resident=r,
                fee_group=g,
                fee_nonresident=nr,
            )
    return unit


def make_equipment(facility: Facility, *, fee: int = 300, quantity: int = 1) -> Equipment:
    return Equipment.objects.create(
        facility=facility, name_ja="プロジェクター", name_en="Projector", fee=fee, quantity=quantity
    )


def resident_account(**fields):
    """A user linked to a current resident record."""
    user = UserFactory(role="resident")
    resident = move_in(family_name=fields.pop("family_name", "施設"), **fields)
    Resident.objects.filter(pk=resident.pk).update(user=user)
    return user


def individual(user=None) -> Registration:
    """An approved individual registration of a linked resident (in the city)."""
    return registrations.register_individual(user=user or resident_account())


def members(count: int, *, prefix: str = "構成員", outside: int = 0) -> list[MemberRow]:
    kana = "アイウエオカキクケコサシスセソタチツテト"
    return [
        MemberRow(
            name=f"{prefix}{i}",
            name_kana=f"{prefix and 'コウセイ'}{kana[i % len(kana)]}{kana[(i // 20) % len(kana)]}",
            relation="outside" if i < outside else "lives",
        )
        for i in range(count)
    ]


def group(user=None, *, clerk, name: str = "まちばバドミントンクラブ", rows=None) -> Registration:
    """An approved group (市内団体 unless the rows say otherwise)."""
    user = user or resident_account()
    registration = registrations.apply_group(
        user=user,
        name=name,
        name_kana="マチババドミントンクラブ",
        members=rows if rows is not None else members(6, prefix=name[:4]),
    )
    return registrations.decide(registration=registration, approve=True, clerk=clerk)


def next_weekday_date(days_ahead: int = 10) -> date:
    return timezone.localdate() + timedelta(days=days_ahead)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=slotlib.TOKYO)


def open_round(*, month: date | None = None, **caps) -> LotteryRound:
    """A round taking entries now, for the month ``months_ahead`` after ``month``."""
    from facilities.services import lottery

    now = timezone.now()
    month = (month or timezone.localdate()).replace(day=1)
    round_ = LotteryRound.objects.create(
        code=f"{month:%Y-%m}",
        month=month,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        results_at=now + timedelta(days=2),
        confirm_by=now + timedelta(days=10),
        max_entries_per_applicant=caps.get("entries", 5),
        max_wins_per_applicant=caps.get("wins", 2),
        max_choices_per_entry=caps.get("choices", 3),
    )
    return lottery.open_round(round_=round_)


def pay_at_counter(booking, clerk):
    """The resident pays the booking's charge at the city hall counter (a real payment)."""
    from payments import services as payment_services
    from payments.models import Charge

    charge = Charge.objects.get(pk=booking.charge_id)
    payer = charge.payer
    payment_services.record_counter_payment(
        payer=payer,
        amount=charge.amount,
        clerk=clerk,
        installment_ids=list(charge.installments.values_list("pk", flat=True)),
    )
