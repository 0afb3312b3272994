"""Fees through the city's ledger (payments): one charge per booking or recurring series, its
withdrawal when a booking lapses unpaid, and the two-person refund after a paid cancellation.

Only payments' public functions are used (``payments.services``, ``payments.selectors``);
payments tells us a charge was paid through the settlement hook (``facilities/payment_hooks``).
The ledger's payer is a resident record, so a user without one (someone living elsewhere)
pays at the facility, and the clerk notes the receipt on the booking.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cityhall import audit
from payments import selectors as payment_selectors
from payments import services as payment_services
from residents.selectors import resident_for_user

from ..models import Booking, CancellationRefund, Registration, Series
from .common import now, require_perm

BOOKING_ORIGIN = "facilities.booking:"
SERIES_ORIGIN = "facilities.series:"


def origin_of(booking: Booking) -> str:
    if booking.series_id is not None:
        return f"{SERIES_ORIGIN}{booking.series_id}"
    return f"{BOOKING_ORIGIN}{booking.pk}"


def payer_of(registration: Registration | None):
    """The resident record that pays, or None (no record: pay at the facility)."""
    if registration is None:
        return None
    return resident_for_user(registration.representative, fresh=True)


def _description(booking: Booking) -> str:
    start = booking.starts_at.astimezone()
    return (
        f"施設使用料 {booking.unit.facility.name_ja} {booking.unit.name_ja} {start:%Y-%m-%d %H:%M}"
    )[:200]


def bill_booking(booking: Booking, *, due: date) -> int | None:
    """The booking's charge (created once; asking again returns it). None when nothing is due
    or the user has no resident record."""
    if booking.fee == 0:
        return None
    payer = payer_of(booking.registration)
    if payer is None:
        return None
    charge = payment_services.create_fee_charge(
        payer=payer,
        amount=booking.fee,
        description=_description(booking),
        origin=origin_of(booking),
        revenue_code="facility",
        due_on=due,
    )
    if booking.charge_id != charge.pk:
        booking.charge_id = charge.pk
        booking.save(update_fields=["charge_id"])
    return charge.pk


def bill_series(series: Series, bookings: list[Booking], *, due: date) -> int | None:
    total = sum(b.fee for b in bookings)
    payer = payer_of(series.registration)
    if total == 0 or payer is None:
        return None
    charge = payment_services.create_fee_charge(
        payer=payer,
        amount=total,
        description=(
            f"施設使用料（定期利用）{series.unit.facility.name_ja} {series.unit.name_ja} "
            f"{series.first_date}〜{series.last_date}"
        )[:200],
        origin=f"{SERIES_ORIGIN}{series.pk}",
        revenue_code="facility",
        due_on=due,
    )
    series.charge_id = charge.pk
    series.save(update_fields=["charge_id"])
    Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(charge_id=charge.pk)
    return charge.pk


def withdraw_unpaid(booking: Booking, *, reason: str) -> None:
    """Take an unpaid booking's fee off its charge (the whole charge for a single booking, its
    own share of a series' charge)."""
    if booking.charge_id is None:
        return
    amount = booking.fee if booking.series_id is not None else None
    charge = payment_selectors.charge_for_origin(origin_of(booking))
    if charge is None or charge.settled_at is not None and charge.amount > 0:
        return
    payment_services.withdraw_unpaid_charge(origin=origin_of(booking), amount=amount, reason=reason)


def charge_is_paid(origin: str) -> bool:
    """Settled with money: a charge withdrawn to 0 yen also counts as settled in payments."""
    charge = payment_selectors.charge_for_origin(origin)
    return charge is not None and charge.settled_at is not None and charge.amount > 0


# --- refunds (還付) after a paid cancellation: two people ------------------------------------


def _refund_origin(refund: CancellationRefund) -> str:
    return origin_of(refund.booking)


def reduce_for_refund(*, refund: CancellationRefund, clerk) -> CancellationRefund:
    """First person: reduce the charge by the refund (更正); the excess becomes the payer's
    credit (過誤納金) in payments."""
    require_perm(clerk, "facilities.process_refund")
    with transaction.atomic():
        refund = (
            CancellationRefund.objects.select_for_update(of=("self",))
            .select_related("booking")
            .get(pk=refund.pk)
        )
        if refund.state != CancellationRefund.State.REQUESTED:
            raise ValidationError(_("この還付は減額の手続き待ちではありません。"))
        charge = payment_selectors.charge_for_origin(_refund_origin(refund))
        if charge is None:
            raise ValidationError(_("この予約の使用料の調定が見つかりません。"))
        installment = charge.installments.order_by("number").last()
        payment_services.correct_charge(
            charge=charge,
            new_amounts={installment.number: installment.amount - refund.amount},
            reason=f"施設予約の取消による還付（予約番号 {refund.booking.reference}）",
            clerk=clerk,
        )
        refund.state = CancellationRefund.State.REDUCED
        refund.reduced_by = clerk
        refund.reduced_at = now()
        refund.save(update_fields=["state", "reduced_by", "reduced_at"])
        audit.record(action="facilities.refund_reduced", actor=clerk, obj=refund)
    return refund


def pay_refund(*, refund: CancellationRefund, clerk) -> CancellationRefund:
    """Second person: refund the credit the reduction left (還付). The clerk who reduced the
    charge may not also refund it."""
    require_perm(clerk, "facilities.process_refund")
    with transaction.atomic():
        refund = (
            CancellationRefund.objects.select_for_update(of=("self",))
            .select_related("booking__registration")
            .get(pk=refund.pk)
        )
        if refund.state != CancellationRefund.State.REDUCED:
            raise ValidationError(_("この還付は還付の手続き待ちではありません。"))
        if refund.reduced_by_id == clerk.pk:
            raise ValidationError(
                _("減額した職員とは別の職員が還付してください（二人で確認します）。")
            )
        payer = payer_of(refund.booking.registration)
        charge = payment_selectors.charge_for_origin(_refund_origin(refund))
        credits = (
            payment_selectors.credits_for_resident(payer)
            .filter(payment__allocations__installment__charge=charge)
            .distinct()
            .order_by("id")
        )
        left = refund.amount
        refund_ids = []
        for credit in credits:
            part = min(left, credit.amount - credit.used)
            if part <= 0:
                continue
            made = payment_services.refund_credit(
                credit=credit,
                amount=part,
                reason=f"施設予約の取消による還付（予約番号 {refund.booking.reference}）",
                clerk=clerk,
            )
            refund_ids.append(made.pk)
            left -= part
            if left == 0:
                break
        if left:
            raise ValidationError(
                _("還付できる過誤納金が足りません。減額の記録を確かめてください。")
            )
        refund.state = CancellationRefund.State.REFUNDED
        refund.refunded_by = clerk
        refund.refunded_at = now()
        refund.payments_refund_id = refund_ids[0] if refund_ids else None
        refund.save(update_fields=["state", "refunded_by", "refunded_at", "payments_refund_id"])
        audit.record(action="facilities.refund_paid", actor=clerk, obj=refund)
    return refund
