"""Charges (賦課/調定): creating them, fee charges, and corrections (更正)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from cityhall.dates import next_business_day

from ..models import (
    Adjustment,
    Allocation,
    Approval,
    Charge,
    Credit,
    Installment,
    Revenue,
)
from ..revenues import STANDARD_REVENUES, revenue_defaults
from .ledger import (
    _check_approval,
    _live_allocations,
    _lock_charges,
    _lock_payments,
    _require,
    _update_settlement,
    fiscal_year_of,
    record_event,
    today,
)

FEE_DUE_DAYS = 14


def split_installments(amount: int, count: int) -> list[int]:
    """Amounts of ``count`` installments of ``amount`` yen.

    Municipal tax ordinances (e.g. 市税条例 on 個人住民税 and 固定資産税, following 地方税法
    320条/362条 practice) put the fraction under 1,000 yen — and whatever does not divide evenly —
    in the first installment; the later ones are equal multiples of 1,000 yen. An amount under
    1,000 yen per installment falls entirely in the first.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    later = amount // count // 1000 * 1000
    return [amount - later * (count - 1)] + [later] * (count - 1)


def create_charge(
    *,
    payer,
    revenue: Revenue,
    fiscal_year: int,
    installments: Sequence[tuple[date, int]],
    description: str = "",
    legal_basis: str = "",
    origin: str | None = None,
    parcel_key: str = "",
    actor=None,
) -> Charge:
    """A charge with its installments (nominal due date, amount); due dates on a closed day move
    to the next business day (地方税法20条の5 第2項). The installments must sum to the charge.
    """
    if not installments:
        raise ValidationError(_("期別が一つもありません。"))
    if any(amount < 0 for _due, amount in installments):
        raise ValidationError(_("期別の金額は0円以上にしてください。"))
    amount = sum(amount for _due, amount in installments)
    with transaction.atomic():
        charge = Charge.objects.create(
            payer=payer,
            revenue=revenue,
            fiscal_year=fiscal_year,
            amount=amount,
            description=description,
            legal_basis=legal_basis,
            origin=origin,
            parcel_key=parcel_key,
        )
        Installment.objects.bulk_create(
            Installment(
                charge=charge,
                number=number,
                assessed_amount=part,
                amount=part,
                due_on=next_business_day(due),
            )
            for number, (due, part) in enumerate(installments, start=1)
        )
        record_event("charge.created", charge=charge, to_state="open", amount=amount, actor=actor)
        if amount == 0:
            _update_settlement([charge.pk])
    return charge


def create_fee_charge(
    *,
    payer,
    amount: int,
    description: str,
    origin: str,
    revenue_code: str = "fee",
    due_on: date | None = None,
) -> Charge:
    """A one-installment charge for a fee (手数料), at most one per ``origin``.

    Asking again with the same origin returns the first charge unchanged (a retried request or
    task must not bill twice). ``due_on`` defaults to two weeks from today.
    """
    if not origin:
        raise ValidationError(_("発生元が必要です。"))
    if amount <= 0:
        raise ValidationError(_("手数料の金額は1円以上にしてください。"))
    existing = Charge.objects.filter(origin=origin).first()
    if existing is not None:
        return existing
    if revenue_code in STANDARD_REVENUES:
        revenue, _created = Revenue.objects.get_or_create(
            code=revenue_code, defaults=revenue_defaults(revenue_code)
        )
    else:
        revenue = Revenue.objects.filter(code=revenue_code).first()
    if revenue is None:
        raise ValidationError(_("歳入科目「%(code)s」がありません。") % {"code": revenue_code})
    due = due_on or today() + timedelta(days=FEE_DUE_DAYS)
    try:
        with transaction.atomic():
            return create_charge(
                payer=payer,
                revenue=revenue,
                fiscal_year=fiscal_year_of(today()),
                installments=[(due, amount)],
                description=description,
                legal_basis="手数料条例",
                origin=origin,
            )
    except IntegrityError:
        # Another request created it between our look-up and our insert.
        existing = Charge.objects.filter(origin=origin).first()
        if existing is None:
            raise
        return existing


def correct_charge(
    *, charge: Charge, new_amounts: dict[int, int], reason: str, clerk, approval=None
) -> list[Adjustment]:
    """更正: set installments (by number) to new amounts by adding adjusting entries.

    A reduction below what has already been paid moves the excess to the payer's credit
    (過誤納金), newest allocation first. A correction whose size (Σ |new − old|) is above
    :func:`approval_threshold` needs ``approval``: an approved request of the same change.
    """
    _require(clerk, "payments.add_adjustment")
    if not reason.strip():
        raise ValidationError({"reason": _("更正の理由を入力してください。")})
    new_amounts = {int(number): int(amount) for number, amount in new_amounts.items()}
    adjustments = []
    with transaction.atomic():
        charge = _lock_charges([charge.pk])[charge.pk]
        installments = {
            item.number: item
            for item in Installment.objects.select_for_update().filter(charge=charge).order_by("id")
        }
        for number, new_amount in new_amounts.items():
            if number not in installments:
                raise ValidationError(
                    {"new_amounts": _("第%(number)s期はありません。") % {"number": number}}
                )
            if new_amount < 0:
                raise ValidationError({"new_amounts": _("金額は0円以上です。")})
        size = sum(abs(amount - installments[n].amount) for n, amount in new_amounts.items())
        _check_approval(
            approval,
            kind=Approval.Kind.CORRECTION,
            size=size,
            clerk=clerk,
            matches=lambda a: (
                a.charge_id == charge.pk
                and {int(n): v for n, v in a.params.get("new_amounts", {}).items()} == new_amounts
            ),
        )
        approved_by = approval.decided_by_id if approval is not None else None
        for number, new_amount in sorted(new_amounts.items()):
            installment = installments[number]
            delta = new_amount - installment.amount
            if delta == 0:
                continue
            if new_amount < installment.allocated:
                _release_allocations(
                    installment,
                    installment.allocated - new_amount,
                    actor=clerk,
                    approved_by=approved_by,
                )
                installment.refresh_from_db()
            adjustments.append(
                Adjustment.objects.create(
                    installment=installment, delta=delta, reason=reason, actor=clerk
                )
            )
            Installment.objects.filter(pk=installment.pk).update(amount=F("amount") + delta)
            Charge.objects.filter(pk=charge.pk).update(amount=F("amount") + delta)
            record_event(
                "charge.corrected",
                charge=charge,
                installment=installment,
                amount=delta,
                reason=reason,
                actor=clerk,
                data={
                    "from": installment.amount,
                    "to": new_amount,
                    **({"approval": approval.pk, "approved_by": approved_by} if approval else {}),
                },
            )
        _update_settlement([charge.pk])
    return adjustments


def _release_allocations(
    installment: Installment, excess: int, *, actor, approved_by: int | None = None
) -> None:
    """Take ``excess`` yen of allocations back from an (already locked) installment into the
    payers' credit, newest allocation first. An allocation partly taken back before gives what
    it still has."""
    releases = []
    for allocation in _live_allocations(installment=installment):
        if excess <= 0:
            break
        part = min(excess, allocation.remaining)
        excess -= part
        releases.append((allocation, part))
    payments = _lock_payments(allocation.payment_id for allocation, _part in releases)
    credits = {
        credit.payment_id: credit
        for credit in Credit.objects.select_for_update()
        .filter(payment_id__in=payments)
        .order_by("id")
    }
    for allocation, part in releases:
        payment = payments[allocation.payment_id]
        if allocation.credit_id is None:
            # The payment's credit grows and its allocated amount drops when the reversal row
            # (released_to_credit) is written: one statement, so the payment's CHECK holds.
            credit = credits.get(payment.pk)
            if credit is None:
                credit = credits[payment.pk] = Credit.objects.create(
                    payment=payment, resident=payment.payer, amount=0
                )
            Credit.objects.filter(pk=credit.pk).update(amount=F("amount") + part)
        # A 充当 taken back returns to its credit: the reversal row lowers ``used`` through the
        # allocation trigger, and the credit's amount stays.
        Allocation.objects.create(
            payment=payment,
            installment=installment,
            amount=-part,
            credit_id=allocation.credit_id,
            reverses=allocation,
            released_to_credit=allocation.credit_id is None,
        )
        # Who reduced the charge (and who approved it) may not refund this money: see
        # reducers_of().
        record_event(
            "allocation.released",
            payment=payment,
            installment=installment,
            amount=part,
            actor=actor,
            data={"approved_by": approved_by} if approved_by else None,
        )


def withdraw_unpaid_charge(*, origin: str, reason: str, amount: int | None = None) -> Charge | None:
    """調定の取消・減額 by the app that made the charge, for what was never paid: a facility hold
    that expired, a lottery win not confirmed in time, an unpaid booking cancelled.

    ``amount`` yen (everything still unpaid when None) come off the charge's unpaid part, last
    installment first, as adjusting entries with the reason. Paid money is never touched, so no
    money moves and no person has to decide: taking a charge below what was paid is a refund,
    which stays with clerks (``correct_charge``, then ``refund_credit``). Returns the charge, or
    None when no charge has that origin; withdrawing everything twice changes nothing.
    """
    if not reason.strip():
        raise ValidationError({"reason": _("取消の理由を入力してください。")})
    with transaction.atomic():
        charge = Charge.objects.select_for_update().filter(origin=origin).first()
        if charge is None:
            return None
        installments = list(
            Installment.objects.select_for_update().filter(charge=charge).order_by("id")
        )
        unpaid = sum(item.amount - item.allocated for item in installments)
        take = unpaid if amount is None else amount
        if take < 0 or take > unpaid:
            raise ValidationError(
                {
                    "amount": _("取り消せるのは未納の%(unpaid)s円までです。")
                    % {"unpaid": f"{unpaid:,}"}
                }
            )
        for installment in sorted(installments, key=lambda item: item.number, reverse=True):
            part = min(take, installment.amount - installment.allocated)
            if part <= 0:
                continue
            take -= part
            Adjustment.objects.create(installment=installment, delta=-part, reason=reason)
            Installment.objects.filter(pk=installment.pk).update(amount=F("amount") - part)
            Charge.objects.filter(pk=charge.pk).update(amount=F("amount") - part)
            record_event(
                "charge.withdrawn",
                charge=charge,
                installment=installment,
                amount=-part,
                reason=reason,
            )
        _update_settlement([charge.pk])
        charge.refresh_from_db()
    return charge
