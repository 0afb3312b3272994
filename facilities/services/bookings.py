"""Bookings: first-come holds and how they are paid, cancellation with refunds and penalty
points, check-in at the door, official use, closures, recurring group use, and the jobs that
expire what was not paid in time.

No double booking is the database's rule: the exclusion constraint ``no_double_booking`` over
(unit, time range) on active bookings. The services check availability first only to give a
kind message; when two requests race, PostgreSQL makes one of them wait for the other's
commit and then refuses it, and the refusal becomes the same message.

Kept in one file: holds, payment, cancellation, check-in and the expiry jobs all change bookings
under the one exclusion constraint and the same lock order; the lottery, registrations and billing
are apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from psycopg2.extras import DateTimeTZRange

from cityhall import audit
from cityhall.roles import is_staff_member

from .. import selectors
from .. import slots as slotlib
from ..models import (
    ACTIVE_STATES,
    Booking,
    BookingEquipment,
    CancellationRefund,
    Closure,
    Equipment,
    PenaltyPoint,
    Registration,
    RejectedOccurrence,
    Series,
    Unit,
)
from ..rules import is_late_cancellation, refund_amount, refund_percent, restricted_until
from . import billing
from .common import constraint_of, created, move, next_number, now, require_perm, rules, today

TAKEN_MESSAGE = "この時間はすでに予約されています。別の時間を選んでください。"


def _taken() -> ValidationError:
    return ValidationError({"starts_at": ValidationError(_(TAKEN_MESSAGE), code="taken")})


def _reference() -> str:
    return f"R{next_number('facilities_booking_reference_seq'):08d}"


def _insert(booking: Booking, *, actor=None, reason: str = "") -> Booking:
    """Insert in a savepoint; the exclusion constraint's refusal becomes the taken message."""
    booking.reference = booking.reference or _reference()
    try:
        with transaction.atomic():
            booking.save(force_insert=True)
    except IntegrityError as error:
        if constraint_of(error) == "no_double_booking":
            raise _taken() from None
        raise
    created(booking, actor=actor, reason=reason)
    return booking


def _range(start: datetime, end: datetime) -> DateTimeTZRange:
    return DateTimeTZRange(start, end, "[)")


def _local_date(moment: datetime) -> date:
    return moment.astimezone(slotlib.TOKYO).date()


def expire_stale_holds(*, unit_id: int, start: datetime, end: datetime) -> None:
    """Holds whose time ran out stop blocking the slot before anyone new tries it."""
    stale = Booking.objects.select_for_update(skip_locked=True).filter(
        unit_id=unit_id,
        state=Booking.State.HELD,
        hold_expires_at__lt=now(),
        during__overlap=_range(start, end),
    )
    for booking in stale:
        _expire_hold(booking)


def _expire_hold(booking: Booking) -> None:
    move(booking, Booking.State.EXPIRED, reason="仮押さえの期限切れ")
    billing.withdraw_unpaid(booking, reason="施設予約の仮押さえの期限切れ")


def _check_registration(registration: Registration, user, *, on: date) -> None:
    if registration.representative_id != getattr(user, "pk", None):
        raise PermissionDenied(_("この利用者登録で予約することはできません。"))
    if registration.state != Registration.State.APPROVED:
        raise ValidationError(
            {
                "registration": _("利用者登録が承認されていません（%(state)s）。")
                % {"state": registration.get_state_display()}
            }
        )
    if registration.valid_until is None or registration.valid_until < on:
        raise ValidationError(
            {"registration": _("利用日に利用者登録の有効期限が切れています。更新してください。")}
        )


@dataclass(frozen=True)
class Quote:
    slots: list[slotlib.Slot]
    start: datetime
    end: datetime
    rate: str
    slot_fee: int
    equipment: list[tuple[Equipment, int, int]]  # equipment, quantity, fee

    @property
    def equipment_fee(self) -> int:
        return sum(fee for _e, _q, fee in self.equipment)

    @property
    def fee(self) -> int:
        return self.slot_fee + self.equipment_fee


def _slots_from(unit: Unit, starts_at: datetime, count: int) -> list[slotlib.Slot]:
    plan = selectors.plan_of(unit)
    first = slotlib.slot_at(plan, starts_at)
    if first is None:
        raise ValidationError({"starts_at": _("その時間は予約の区分にありません。")})
    if unit.slot_mode == Unit.SlotMode.FIXED:
        count = 1
    if not 1 <= count <= unit.max_slots_per_booking:
        raise ValidationError(
            {
                "slots": _("一度に予約できるのは%(n)sコマまでです。")
                % {"n": unit.max_slots_per_booking}
            }
        )
    day_slots = slotlib.slots_for_day(plan, first.day)
    index = day_slots.index(first)
    chosen = day_slots[index : index + count]
    if len(chosen) < count or any(
        chosen[i].ends != chosen[i + 1].starts for i in range(len(chosen) - 1)
    ):
        raise ValidationError({"slots": _("続けて予約できるのは閉館時間までです。")})
    return chosen


def _equipment(unit: Unit, wanted: dict[int, int], start: datetime, end: datetime):
    rows = []
    for equipment_id, quantity in sorted((wanted or {}).items()):
        if not quantity:
            continue
        equipment = Equipment.objects.filter(pk=equipment_id, facility_id=unit.facility_id).first()
        if equipment is None or equipment.unit_id not in (None, unit.pk):
            raise ValidationError({"equipment": _("この室場では使えない付帯設備です。")})
        lent = (
            BookingEquipment.objects.filter(
                equipment=equipment,
                booking__state__in=ACTIVE_STATES,
                booking__during__overlap=_range(start, end),
            ).aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        if quantity < 1 or lent + quantity > equipment.quantity:
            raise ValidationError(
                {
                    "equipment": _("「%(name)s」はその時間に%(left)s台までしか使えません。")
                    % {"name": equipment.name, "left": max(0, equipment.quantity - lent)}
                }
            )
        rows.append((equipment, quantity, equipment.fee * quantity))
    return rows


def quote(
    *,
    registration: Registration,
    unit: Unit,
    starts_at: datetime,
    slot_count: int = 1,
    equipment: dict[int, int] | None = None,
) -> Quote:
    """The slots and the fee of a first-come booking, for the confirmation page (確認画面)."""
    chosen = _slots_from(unit, starts_at, slot_count)
    start, end = chosen[0].start_at, chosen[-1].end_at
    rate = registration.rate
    return Quote(
        slots=chosen,
        start=start,
        end=end,
        rate=rate,
        slot_fee=sum(slot.fee_for(rate) for slot in chosen),
        equipment=_equipment(unit, equipment or {}, start, end),
    )


def _closed_by(unit: Unit, start: datetime, end: datetime) -> Closure | None:
    return (
        Closure.objects.filter(facility_id=unit.facility_id, during__overlap=_range(start, end))
        .filter(unit__isnull=True)
        .first()
        or Closure.objects.filter(unit=unit, during__overlap=_range(start, end)).first()
    )


def hold_first_come(
    *,
    registration: Registration,
    user,
    unit: Unit,
    starts_at: datetime,
    slot_count: int = 1,
    equipment: dict[int, int] | None = None,
    purpose: str = "",
    attendees: int | None = None,
) -> Booking:
    """随時予約: hold the slot(s) for ``hold_minutes`` while the user pays."""
    city_rules = rules()
    unit = selectors.unit_with_plan(unit.pk)
    if unit is None:
        raise ValidationError({"unit": _("この室場は予約を受け付けていません。")})
    offer = quote(
        registration=registration,
        unit=unit,
        starts_at=starts_at,
        slot_count=slot_count,
        equipment=equipment,
    )
    _check_registration(registration, user, on=offer.slots[0].day)
    if offer.start <= now():
        raise ValidationError({"starts_at": _("過ぎた時間は予約できません。")})
    window = selectors.FirstComeWindow(city_rules, today())
    status = window.status(unit, offer.slots[0].day)
    if status == selectors.LOTTERY:
        raise ValidationError(
            {"starts_at": _("この日は抽選の対象です。抽選の結果が出たあとで予約できます。")}
        )
    if status != selectors.FREE:
        raise ValidationError(
            {
                "starts_at": _("この日はまだ予約を受け付けていません（%(days)s日先まで）。")
                % {"days": city_rules.first_come_days_ahead}
            }
        )
    if attendees is not None and attendees > unit.capacity:
        raise ValidationError({"attendees": _("定員は%(n)s人です。") % {"n": unit.capacity}})
    if _closed_by(unit, offer.start, offer.end) is not None:
        raise ValidationError({"starts_at": _("その時間は休館または保守点検です。")})
    with transaction.atomic():
        # Serialises one registration's bookings, so its limit holds under concurrency.
        Registration.objects.select_for_update().filter(pk=registration.pk).first()
        active = Booking.objects.filter(
            registration=registration,
            state__in=ACTIVE_STATES,
            during__fully_gt=_range(now() - timedelta(seconds=1), now()),
        ).exclude(state__in=("used", "no_show"))
        if active.count() >= city_rules.max_active_bookings:
            raise ValidationError(
                {
                    "registration": _("予約できるのは同時に%(n)s件までです。")
                    % {"n": city_rules.max_active_bookings}
                }
            )
        expire_stale_holds(unit_id=unit.pk, start=offer.start, end=offer.end)
        booking = _insert(
            Booking(
                unit=unit,
                during=_range(offer.start, offer.end),
                kind=Booking.Kind.FIRST_COME,
                state=Booking.State.HELD,
                registration=registration,
                booked_by=user,
                rate=offer.rate,
                slot_fee=offer.slot_fee,
                equipment_fee=offer.equipment_fee,
                fee=offer.fee,
                hold_expires_at=now() + timedelta(minutes=city_rules.hold_minutes),
                purpose=purpose[:100],
                attendees=attendees,
            ),
            actor=user,
        )
        BookingEquipment.objects.bulk_create(
            BookingEquipment(booking=booking, equipment=e, quantity=q, fee=fee)
            for e, q, fee in offer.equipment
        )
    return booking


def _own(booking: Booking, user) -> Booking:
    if booking.registration is None or booking.registration.representative_id != getattr(
        user, "pk", None
    ):
        raise PermissionDenied(_("この予約を操作することはできません。"))
    return booking


def pay_online(*, booking: Booking, user) -> int:
    """Start paying a hold (or a confirmed booking) by card: its charge in payments; the hold
    runs for ``hold_minutes`` again from now, the time the checkout takes."""
    with transaction.atomic():
        booking = _own(
            Booking.objects.select_for_update(of=("self",))
            .select_related("registration", "unit__facility")
            .get(pk=booking.pk),
            user,
        )
        if booking.state not in (Booking.State.HELD, Booking.State.CONFIRMED):
            raise ValidationError(_("この予約はお支払いの対象ではありません。"))
        if booking.state == Booking.State.HELD and booking.hold_expires_at < now():
            _expire_hold(booking)
            raise ValidationError(_("仮押さえの時間が過ぎました。もう一度予約してください。"))
        if billing.payer_of(booking.registration) is None:
            raise ValidationError(
                _("住民記録と連携していないアカウントは、施設の窓口でお支払いください。")
            )
        if booking.state == Booking.State.HELD:
            booking.hold_expires_at = now() + timedelta(minutes=rules().hold_minutes)
            booking.save(update_fields=["hold_expires_at"])
            due = _local_date(booking.hold_expires_at)
        else:
            due = _local_date(booking.pay_by)
        charge_id = billing.bill_booking(booking, due=due)
    return charge_id


def pay_later(*, booking: Booking, user) -> Booking:
    """Keep the booking and pay by the deadline: at a convenience store with the statement's
    slip, at the city hall counter, or online later (residents); at the facility (others). A
    free booking is simply reserved."""
    with transaction.atomic():
        booking = _own(
            Booking.objects.select_for_update(of=("self",))
            .select_related("registration", "unit__facility")
            .get(pk=booking.pk),
            user,
        )
        if booking.state != Booking.State.HELD:
            raise ValidationError(_("この予約はすでに確定しています。"))
        if booking.hold_expires_at < now():
            _expire_hold(booking)
            raise ValidationError(_("仮押さえの時間が過ぎました。もう一度予約してください。"))
        if booking.fee == 0:
            move(booking, Booking.State.RESERVED, actor=user)
            return booking
        booking.pay_by = min(now() + timedelta(days=7), booking.starts_at)
        move(booking, Booking.State.CONFIRMED, actor=user, fields=["pay_by"])
        billing.bill_booking(booking, due=_local_date(booking.pay_by))
    return booking


def fee_settled(*, origin: str, charge_id: int) -> list[Booking]:
    """payments calls this once a booking's (or series') charge is fully paid."""
    if not billing.charge_is_paid(origin):
        return []
    prefix, _sep, pk = origin.rpartition(":")
    with transaction.atomic():
        if prefix + ":" == billing.SERIES_ORIGIN:
            bookings = list(
                Booking.objects.select_for_update().filter(
                    series_id=int(pk), state=Booking.State.CONFIRMED
                )
            )
        else:
            bookings = list(Booking.objects.select_for_update().filter(pk=int(pk)))
        paid = []
        for booking in bookings:
            booking.paid_at = now()
            if booking.state in (Booking.State.HELD, Booking.State.CONFIRMED, Booking.State.WON):
                move(booking, Booking.State.PAID, reason="お支払いを確認", fields=["paid_at"])
                paid.append(booking)
            elif booking.state == Booking.State.EXPIRED:
                paid.extend(_revive_or_refund(booking, charge_id))
    return paid


def _revive_or_refund(booking: Booking, charge_id: int) -> list[Booking]:
    """Money arrived after the hold ran out: keep the booking when its time is still free,
    otherwise the whole fee goes back."""
    try:
        with transaction.atomic():
            move(
                booking,
                Booking.State.PAID,
                reason="仮押さえの期限後のお支払いを確認",
                fields=["paid_at"],
            )
        return [booking]
    except IntegrityError as error:
        if constraint_of(error) != "no_double_booking":
            raise
    booking.refresh_from_db()
    CancellationRefund.objects.get_or_create(
        booking=booking, defaults={"fee_paid": booking.fee, "percent": 100, "amount": booking.fee}
    )
    return []


def _may_cancel(booking: Booking, actor) -> bool:
    if booking.kind == Booking.Kind.OFFICIAL:
        return is_staff_member(actor) and actor.has_perm("facilities.block_slots")
    if booking.registration and booking.registration.representative_id == actor.pk:
        return True
    return is_staff_member(actor) and actor.has_perm("facilities.change_booking")


def add_penalty(booking: Booking, *, reason: str) -> PenaltyPoint | None:
    """Penalty points for a no-show or a late cancellation; reaching the limit bars lottery
    entries for ``restriction_days`` (rules)."""
    if booking.registration is None or booking.kind == Booking.Kind.OFFICIAL:
        return None
    city_rules = rules()
    points = (
        city_rules.no_show_points
        if reason == PenaltyPoint.Reason.NO_SHOW
        else city_rules.late_cancel_points
    )
    if points <= 0:
        return None
    on = today()
    penalty = PenaltyPoint.objects.create(
        registration=booking.registration,
        booking=booking,
        reason=reason,
        points=points,
        earned_on=on,
        expires_on=on + timedelta(days=city_rules.points_valid_days),
    )
    registration = Registration.objects.select_for_update().get(pk=booking.registration_id)
    history = list(
        registration.penalty_points.filter(
            expires_on__gt=on - timedelta(days=city_rules.points_valid_days)
        ).values_list("earned_on", "points")
    )
    until = restricted_until(city_rules, history, on=on)
    if until is not None and (registration.lottery_barred_until or on) < until:
        registration.lottery_barred_until = until
        registration.save(update_fields=["lottery_barred_until"])
    return penalty


def cancel(*, booking: Booking, actor, reason: str = "") -> Booking:
    """取消. A paid booking gets back what the refund schedule gives (a two-person refund in
    payments follows); an unpaid one's charge is withdrawn. Cancelling late earns points."""
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("registration", "unit__facility")
            .get(pk=booking.pk)
        )
        if not _may_cancel(booking, actor):
            raise PermissionDenied(_("この予約を取り消すことはできません。"))
        if booking.state not in (
            Booking.State.HELD,
            Booking.State.WON,
            Booking.State.CONFIRMED,
            Booking.State.RESERVED,
            Booking.State.PAID,
        ):
            raise ValidationError(
                _("この予約は取り消せません（%(state)s）。")
                % {"state": booking.get_state_display()}
            )
        if booking.starts_at <= now():
            raise ValidationError(_("利用時間を過ぎた予約は取り消せません。"))
        city_rules = rules()
        use_date = _local_date(booking.starts_at)
        on = today()
        was = booking.state
        booking.cancelled_at = now()
        booking.cancel_reason = (reason or "")[:200]
        move(
            booking,
            Booking.State.CANCELLED,
            actor=actor,
            reason=reason,
            fields=["cancelled_at", "cancel_reason"],
        )
        if was == Booking.State.PAID and booking.fee > 0:
            percent = refund_percent(city_rules, use_date=use_date, cancelled_on=on)
            amount = refund_amount(booking.fee, percent)
            if amount > 0 and booking.charge_id is not None:
                CancellationRefund.objects.create(
                    booking=booking, fee_paid=booking.fee, percent=percent, amount=amount
                )
        else:
            billing.withdraw_unpaid(booking, reason="施設予約の取消（未納分）")
        by_user = booking.registration and booking.registration.representative_id == actor.pk
        if (
            was != Booking.State.HELD
            and by_user
            and is_late_cancellation(city_rules, use_date=use_date, cancelled_on=on)
        ):
            add_penalty(booking, reason=PenaltyPoint.Reason.LATE_CANCEL)
    return booking


# --- at the facility ---------------------------------------------------------------------------


def record_facility_payment(*, booking: Booking, clerk, receipt: str = "") -> Booking:
    """The fee taken at the counter. A resident's charge is paid in the city's ledger
    (payments' counter payment, which settles it); a user without a resident record has no
    ledger account, and the receipt number is noted on the booking."""
    require_perm(clerk, "facilities.check_in_booking")
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("registration")
            .get(pk=booking.pk)
        )
        if booking.state not in (Booking.State.CONFIRMED, Booking.State.WON):
            raise ValidationError(_("この予約はお支払い待ちではありません。"))
        payer = billing.payer_of(booking.registration)
        if payer is not None:
            if booking.charge_id is None:
                billing.bill_booking(booking, due=today())
            from payments import selectors as payment_selectors
            from payments import services as payment_services

            charge = payment_selectors.charge_for_origin(billing.origin_of(booking))
            outstanding = [i for i in charge.installments.all() if i.amount > i.allocated]
            payment_services.record_counter_payment(
                payer=payer,
                amount=sum(i.amount - i.allocated for i in outstanding),
                clerk=clerk,
                installment_ids=[i.pk for i in outstanding],
            )
            booking.refresh_from_db()
            return booking
        if not receipt.strip():
            raise ValidationError({"receipt": _("領収番号を入力してください。")})
        booking.facility_receipt = receipt.strip()[:30]
        booking.paid_at = now()
        move(
            booking,
            Booking.State.PAID,
            actor=clerk,
            reason="施設窓口で収納",
            fields=["facility_receipt", "paid_at"],
        )
        audit.record(
            action="facilities.facility_payment",
            actor=clerk,
            obj=booking,
            details={"receipt": booking.facility_receipt, "amount": booking.fee},
        )
    return booking


def check_in(*, booking: Booking, clerk) -> Booking:
    """利用確認 at the door."""
    require_perm(clerk, "facilities.check_in_booking")
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.state == Booking.State.USED:
            return booking
        if booking.state not in (Booking.State.PAID, Booking.State.RESERVED):
            raise ValidationError(
                _("お支払いが済んでいない予約です。先に使用料を受け取ってください。")
            )
        if _local_date(booking.starts_at) != today():
            raise ValidationError(_("利用確認できるのは利用日当日だけです。"))
        booking.checked_in_at = now()
        booking.checked_in_by = clerk
        move(booking, Booking.State.USED, actor=clerk, fields=["checked_in_at", "checked_in_by"])
    return booking


def mark_no_show(*, booking: Booking, clerk) -> Booking:
    """無断不使用: the booking's time began and nobody came; penalty points follow."""
    require_perm(clerk, "facilities.check_in_booking")
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.state not in (Booking.State.PAID, Booking.State.RESERVED):
            raise ValidationError(_("この予約は無断不使用にできません。"))
        if booking.starts_at > now():
            raise ValidationError(_("利用開始前の予約は無断不使用にできません。"))
        move(booking, Booking.State.NO_SHOW, actor=clerk)
        add_penalty(booking, reason=PenaltyPoint.Reason.NO_SHOW)
    return booking


# --- official use and closures -----------------------------------------------------------------


def block_slots(
    *, unit: Unit, starts_at: datetime, ends_at: datetime, clerk, reason: str
) -> Booking:
    """行政利用: the city takes the unit's time, ahead of the lottery if need be (a slot taken
    before the draw is left out of it, and the results say so)."""
    require_perm(clerk, "facilities.block_slots")
    if not reason.strip():
        raise ValidationError({"reason": _("行政利用の内容を入力してください。")})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("終了は開始より後にしてください。")})
    if starts_at <= now():
        raise ValidationError({"starts_at": _("過ぎた時間は押さえられません。")})
    with transaction.atomic():
        expire_stale_holds(unit_id=unit.pk, start=starts_at, end=ends_at)
        clash = list(
            Booking.objects.filter(
                unit=unit, state__in=ACTIVE_STATES, during__overlap=_range(starts_at, ends_at)
            ).values_list("reference", flat=True)
        )
        if clash:
            raise ValidationError(
                {
                    "starts_at": _(
                        "その時間にはすでに予約があります（予約番号 %(refs)s）。先に調整してください。"
                    )
                    % {"refs": "、".join(clash)}
                }
            )
        booking = _insert(
            Booking(
                unit=unit,
                during=_range(starts_at, ends_at),
                kind=Booking.Kind.OFFICIAL,
                state=Booking.State.RESERVED,
                booked_by=clerk,
                rate=Booking.Rate.OFFICIAL,
                purpose=reason.strip()[:100],
            ),
            actor=clerk,
            reason=reason,
        )
        audit.record(
            action="facilities.block_slots", actor=clerk, obj=booking, details={"reason": reason}
        )
    return booking


def add_closure(
    *,
    unit: Unit | None,
    facility,
    starts_at: datetime,
    ends_at: datetime,
    kind: str,
    reason: str,
    clerk,
) -> Closure:
    require_perm(clerk, "facilities.block_slots")
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("終了は開始より後にしてください。")})
    bookings = Booking.objects.filter(
        unit__facility=facility, state__in=ACTIVE_STATES, during__overlap=_range(starts_at, ends_at)
    )
    if unit is not None:
        bookings = bookings.filter(unit=unit)
    clash = list(bookings.values_list("reference", flat=True)[:20])
    if clash:
        raise ValidationError(
            {
                "starts_at": _(
                    "その期間には予約があります（予約番号 %(refs)s）。先に取り消してください。"
                )
                % {"refs": "、".join(clash)}
            }
        )
    closure = Closure.objects.create(
        facility=facility, unit=unit, kind=kind, during=_range(starts_at, ends_at), reason=reason
    )
    selectors.availability_changed()
    audit.record(action="facilities.closure", actor=clerk, obj=closure)
    return closure


# --- recurring group use -----------------------------------------------------------------------

MAX_OCCURRENCES = 26


def create_series(
    *,
    registration: Registration,
    unit: Unit,
    weekday: int,
    starts: time,
    ends: time,
    first_date: date,
    last_date: date,
    user,
) -> Series:
    """定期利用: one booking per week; dates that cannot be booked are kept with the reason."""
    if registration.kind != Registration.Kind.GROUP:
        raise ValidationError({"registration": _("定期利用は団体登録で申し込んでください。")})
    _check_registration(registration, user, on=first_date)
    if last_date < first_date:
        raise ValidationError({"last_date": _("最終回は初回より後の日にしてください。")})
    if first_date <= today():
        raise ValidationError({"first_date": _("初回は明日以降の日にしてください。")})
    unit = selectors.unit_with_plan(unit.pk)
    plan = selectors.plan_of(unit)
    dates = [d for d in slotlib.days(first_date, last_date) if d.weekday() == weekday]
    if not dates:
        raise ValidationError({"weekday": _("期間中にその曜日がありません。")})
    if len(dates) > MAX_OCCURRENCES:
        raise ValidationError(
            {"last_date": _("定期利用は%(n)s回までです。") % {"n": MAX_OCCURRENCES}}
        )
    window = selectors.FirstComeWindow(rules(), today())
    with transaction.atomic():
        series = Series.objects.create(
            registration=registration,
            unit=unit,
            weekday=weekday,
            starts=starts,
            ends=ends,
            first_date=first_date,
            last_date=last_date,
            created_by=user,
        )
        made, rejected = [], []
        for day in dates:
            start = datetime.combine(day, starts, tzinfo=slotlib.TOKYO)
            end = datetime.combine(day, ends, tzinfo=slotlib.TOKYO)
            reason = _occurrence_problem(plan, unit, day, start, end, window)
            if reason is None:
                fee = sum(s.fee_for(registration.rate) for s in _covering(plan, day, starts, ends))
                try:
                    made.append(
                        _insert(
                            Booking(
                                unit=unit,
                                during=_range(start, end),
                                kind=Booking.Kind.RECURRING,
                                state=Booking.State.CONFIRMED if fee else Booking.State.RESERVED,
                                registration=registration,
                                booked_by=user,
                                series=series,
                                rate=registration.rate,
                                slot_fee=fee,
                                fee=fee,
                                pay_by=min(now() + timedelta(days=7), start) if fee else None,
                            ),
                            actor=user,
                        )
                    )
                    continue
                except ValidationError:
                    reason = RejectedOccurrence.Reason.OVERLAP
            rejected.append(
                RejectedOccurrence(series=series, starts_at=start, ends_at=end, reason=reason)
            )
        RejectedOccurrence.objects.bulk_create(rejected)
        if made:
            due = min((b.pay_by for b in made if b.pay_by), default=None)
            if due is not None:
                billing.bill_series(series, made, due=_local_date(due))
    return series


def _covering(plan: slotlib.UnitPlan, day: date, starts: time, ends: time) -> list[slotlib.Slot]:
    """The day's slots that exactly tile [starts, ends), or [] when they do not."""
    chosen = [s for s in slotlib.slots_for_day(plan, day) if s.starts >= starts and s.ends <= ends]
    if not chosen or chosen[0].starts != starts or chosen[-1].ends != ends:
        return []
    if any(chosen[i].ends != chosen[i + 1].starts for i in range(len(chosen) - 1)):
        return []
    return chosen


def _occurrence_problem(plan, unit, day, start, end, window) -> str | None:
    if slotlib.closed_reason(plan, day) is not None:
        return RejectedOccurrence.Reason.CLOSED_DAY
    if not _covering(
        plan, day, start.timetz().replace(tzinfo=None), end.timetz().replace(tzinfo=None)
    ):
        return RejectedOccurrence.Reason.OUTSIDE_HOURS
    if _closed_by(unit, start, end) is not None:
        return RejectedOccurrence.Reason.CLOSURE
    if window.status(unit, day) != selectors.FREE:
        return RejectedOccurrence.Reason.NOT_BOOKABLE
    return None


# --- jobs --------------------------------------------------------------------------------------


def expire_holds() -> int:
    """Beat, every minute: holds whose time ran out free their slots and their charges."""
    count = 0
    with transaction.atomic():
        for booking in Booking.objects.select_for_update(skip_locked=True).filter(
            state=Booking.State.HELD, hold_expires_at__lt=now()
        )[:500]:
            _expire_hold(booking)
            count += 1
    return count


def lapse_unpaid() -> int:
    """Beat: bookings not paid by their deadline lapse — lottery wins are forfeited (当選失効),
    other bookings expire — and their slots open for first-come booking."""
    count = 0
    with transaction.atomic():
        for booking in Booking.objects.select_for_update(skip_locked=True).filter(
            state__in=(Booking.State.WON, Booking.State.CONFIRMED), pay_by__lt=now()
        )[:1000]:
            lottery = booking.kind == Booking.Kind.LOTTERY
            booking.cancel_reason = "当選確認・支払の期限切れ" if lottery else "支払期限切れ"
            move(
                booking,
                Booking.State.FORFEITED if lottery else Booking.State.EXPIRED,
                reason=booking.cancel_reason,
                fields=["cancel_reason"],
            )
            billing.withdraw_unpaid(booking, reason=f"施設予約の{booking.cancel_reason}")
            count += 1
    return count
