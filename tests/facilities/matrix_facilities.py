"""Resident B's facility objects for the access matrix (tests/hardening/test_access_matrix.py):
a registration and a group, a held booking, a recurring series, a refund, an entry in an open
round and a published round, made through the services like the rest of the matrix's world."""

from __future__ import annotations

from datetime import time, timedelta
from types import SimpleNamespace

from django.core import signing
from django.core.files.base import ContentFile
from django.utils import timezone
from factories_facilities import at, make_facility, make_unit, members, open_round

from facilities.models import CancellationRefund, Photo, RoundSlot
from facilities.services import bookings, lottery, registrations
from facilities.views import ICAL_SALT

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def build(*, users: dict, b_user, clerk, supervisor) -> SimpleNamespace:
    facility = make_facility(code="matrix-gym", name_ja="マトリクス体育館")
    unit = make_unit(facility, code="matrix-arena")
    lottery_unit = make_unit(facility, code="matrix-lottery", lottery=True)
    photo = Photo(facility=facility, caption_ja="外観")
    photo.image.save("matrix-gym.png", ContentFile(PNG), save=False)
    photo.save()

    individual = registrations.register_individual(user=b_user)
    group = registrations.apply_group(
        user=b_user,
        name="乙原クラブ",
        name_kana="オツハラクラブ",
        members=members(5, prefix="乙原"),
    )
    group = registrations.decide(registration=group, approve=True, clerk=clerk)

    day = timezone.localdate() + timedelta(days=10)
    booking = bookings.hold_first_come(
        registration=individual, user=b_user, unit=unit, starts_at=at(day, 9)
    )
    series = bookings.create_series(
        registration=group,
        unit=unit,
        weekday=(day + timedelta(days=1)).weekday(),
        starts=time(18),
        ends=time(21),
        first_date=day + timedelta(days=1),
        last_date=day + timedelta(days=8),
        user=b_user,
    )
    paid = bookings.hold_first_come(
        registration=individual, user=b_user, unit=unit, starts_at=at(day, 13)
    )
    bookings.pay_later(booking=paid, user=b_user)
    paid.refresh_from_db()
    refund = CancellationRefund.objects.create(
        booking=paid, fee_paid=paid.fee, percent=100, amount=paid.fee
    )

    # A round drawn and published last month, and this month's open round with B's entry.
    month = timezone.localdate().replace(day=1)
    published = open_round(month=(month - timedelta(days=1)).replace(day=1))
    slot = RoundSlot.objects.filter(round=published, unit=lottery_unit).first()
    lottery.enter(round_=published, registration=individual, user=b_user, slot_ids=[slot.pk])
    lottery.close_round(round_=published)
    lottery.start_draw(round_=published, clerk=supervisor)
    lottery.run_draw(published.pk)
    published = lottery.publish(round_=published, clerk=supervisor)
    current = open_round(month=month)
    entry = lottery.enter(
        round_=current,
        registration=individual,
        user=b_user,
        slot_ids=[RoundSlot.objects.filter(round=current, unit=lottery_unit).first().pk],
    )
    return SimpleNamespace(
        facility=facility,
        unit=unit,
        photo=photo,
        registration=individual,
        group=group,
        booking=booking,
        series=series,
        refund=refund,
        published_round=published,
        open_round=current,
        entry=entry,
        free_start=at(day, 18).isoformat(),
        ical_token=signing.dumps(b_user.pk, salt=ICAL_SALT),
    )
