"""Every change to the ledger: charges, corrections, payments, allocation, credits and refunds.

Each function is one use case in one transaction. Rows that money depends on are locked with
``select_for_update`` in a fixed order (installments by id, then the payment) so two channels
settling the same installment at once wait for each other instead of over-allocating; the database
constraints (see ``payments.models``) are the last line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cityhall.dates import next_business_day

from . import hooks
from .models import (
    Adjustment,
    Allocation,
    Channel,
    Charge,
    Credit,
    Installment,
    LedgerEvent,
    Payment,
    Refund,
    Revenue,
)
from .revenues import STANDARD_REVENUES, revenue_defaults

FEE_DUE_DAYS = 14


class IdempotencyConflict(ValidationError):
    """The idempotency key was used before with a different request (the API answers 409)."""


def today() -> date:
    return timezone.localdate()


def fiscal_year_of(d: date) -> int:
    """The Japanese fiscal year (会計年度, 地方自治法208条): April to March."""
    return d.year if d.month >= 4 else d.year - 1


def _require(user, permission: str) -> None:
    if user is None or not user.is_authenticated or not user.has_perm(permission):
        raise PermissionDenied(f"{permission} が必要です / {permission} is required")


def record_event(
    kind: str,
    *,
    charge: Charge | None = None,
    installment: Installment | None = None,
    payment: Payment | None = None,
    refund: Refund | None = None,
    from_state: str = "",
    to_state: str = "",
    amount: int | None = None,
    reason: str = "",
    actor=None,
    data: dict | None = None,
) -> LedgerEvent:
    return LedgerEvent.objects.create(
        kind=kind,
        charge=charge,
        installment=installment,
        payment=payment,
        refund=refund,
        from_state=from_state,
        to_state=to_state,
        amount=amount,
        reason=reason,
        actor=actor if actor is not None and actor.is_authenticated else None,
        data=data or {},
    )


# ---------------------------------------------------------------------------------------------
# Charges


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
        raise ValidationError("期別が一つもありません。 / A charge needs at least one installment.")
    if any(amount < 0 for _due, amount in installments):
        raise ValidationError("期別の金額は0円以上です。 / Installment amounts cannot be negative.")
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
        raise ValidationError("発生元が必要です。 / An origin is required.")
    if amount <= 0:
        raise ValidationError(
            "手数料の金額は1円以上にしてください。 / A fee must be at least 1 yen."
        )
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
        raise ValidationError(
            f"歳入科目「{revenue_code}」がありません。 / No revenue with code {revenue_code!r}."
        )
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
    *, charge: Charge, new_amounts: dict[int, int], reason: str, clerk
) -> list[Adjustment]:
    """更正: set installments (by number) to new amounts by adding adjusting entries.

    A reduction below what has already been paid moves the excess to the payer's credit
    (過誤納金), newest allocation first.
    """
    _require(clerk, "payments.add_adjustment")
    if not reason.strip():
        raise ValidationError({"reason": "更正の理由を入力してください。 / Give the reason."})
    adjustments = []
    with transaction.atomic():
        charge = Charge.objects.select_for_update().get(pk=charge.pk)
        installments = {
            item.number: item
            for item in Installment.objects.select_for_update().filter(charge=charge).order_by("id")
        }
        for number, new_amount in sorted(new_amounts.items()):
            installment = installments.get(number)
            if installment is None:
                raise ValidationError(f"第{number}期はありません。 / No installment {number}.")
            if new_amount < 0:
                raise ValidationError("金額は0円以上です。 / Amounts cannot be negative.")
            delta = new_amount - installment.amount
            if delta == 0:
                continue
            if new_amount < installment.allocated:
                _release_allocations(installment, installment.allocated - new_amount, actor=clerk)
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
                data={"from": installment.amount, "to": new_amount},
            )
        _update_settlement([charge.pk])
    return adjustments


def _release_allocations(installment: Installment, excess: int, *, actor) -> None:
    """Take ``excess`` yen of allocations back from an installment into the payers' credit."""
    allocations = (
        Allocation.objects.filter(installment=installment, amount__gt=0)
        .exclude(reversals__isnull=False)
        .order_by("-id")
    )
    for allocation in allocations:
        if excess <= 0:
            break
        part = min(excess, allocation.amount)
        excess -= part
        payment = Payment.objects.select_for_update().get(pk=allocation.payment_id)
        _add_credit(payment, part, from_allocation=allocation.credit_id is not None)
        Allocation.objects.create(
            payment=payment,
            installment=installment,
            amount=-part,
            credit=allocation.credit,
            reverses=allocation,
            released_to_credit=allocation.credit_id is None,
        )
        record_event(
            "allocation.released",
            payment=payment,
            installment=installment,
            amount=part,
            actor=actor,
        )


def _add_credit(payment: Payment, amount: int, *, from_allocation: bool) -> Credit:
    """Grow a payment's credit by ``amount``; keeps allocations + credit = amount."""
    credit, _created = Credit.objects.select_for_update().get_or_create(
        payment=payment, defaults={"resident": payment.payer, "amount": 0}
    )
    if from_allocation:
        # The money came from this credit in the first place (充当 undone): the reversal row
        # lowers ``used`` through the allocation trigger; the credit's amount stays.
        return credit
    # The payment's credit_amount grows, and its allocated amount drops, when the reversal row
    # (released_to_credit) is written: one statement, so the payment's CHECK holds throughout.
    Credit.objects.filter(pk=credit.pk).update(amount=F("amount") + amount)
    return credit


# ---------------------------------------------------------------------------------------------
# Payments


def request_digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def create_payment(
    *,
    payer,
    channel: str,
    amount: int,
    idempotency_key: str | None = None,
    targets: Sequence[int] = (),
    provider: str = "",
    external_ref: str | None = None,
    recorded_by=None,
) -> Payment:
    """A payment in state ``created``. The same idempotency key with the same body returns the
    first payment; with a different body it raises :class:`IdempotencyConflict`."""
    if channel not in Channel.values:
        raise ValidationError({"channel": f"不明な収納チャネル / unknown channel {channel!r}"})
    if amount <= 0:
        raise ValidationError({"amount": "金額は1円以上です。 / The amount must be positive."})
    body = {
        "payer": getattr(payer, "pk", None),
        "channel": channel,
        "amount": amount,
        "targets": list(targets),
        "provider": provider,
    }
    digest = request_digest(body)
    if idempotency_key:
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.request_digest != digest:
                raise IdempotencyConflict(
                    "この冪等キーは別の内容の支払いに使われています。 / This idempotency key "
                    "was used for a different payment."
                )
            return existing
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                payer=payer,
                channel=channel,
                amount=amount,
                idempotency_key=idempotency_key or None,
                request_digest=digest,
                targets=list(targets),
                provider=provider,
                external_ref=external_ref,
                recorded_by=recorded_by,
            )
            record_event(
                "payment.created",
                payment=payment,
                to_state="created",
                amount=amount,
                actor=recorded_by,
            )
    except IntegrityError:
        if idempotency_key:
            existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None and existing.request_digest == digest:
                return existing
        raise
    return payment


def _transition(payment: Payment, to_state: str, *, actor=None, reason: str = "") -> None:
    if to_state not in Payment.TRANSITIONS[payment.state]:
        raise ValidationError(
            f"支払いの状態を「{payment.state}」から「{to_state}」に変えることはできません。 / "
            f"A payment cannot go from {payment.state} to {to_state}."
        )
    from_state = payment.state
    payment.state = to_state
    payment.save(update_fields=["state"])
    record_event(
        f"payment.{to_state}",
        payment=payment,
        from_state=from_state,
        to_state=to_state,
        amount=payment.amount,
        reason=reason,
        actor=actor,
    )


def mark_pending(*, payment_id: int, external_ref: str | None = None) -> Payment:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.state == Payment.State.CREATED:
            if external_ref:
                payment.external_ref = external_ref
                payment.save(update_fields=["external_ref"])
            _transition(payment, Payment.State.PENDING)
    return payment


def confirm_payment(
    *,
    payment_id: int,
    paid_on: date | None = None,
    received_on: date | None = None,
    actor=None,
    reason: str = "",
) -> Payment:
    """Capture: mark the payment confirmed and allocate it. Idempotent — a second confirmation
    (a webhook delivered twice, a provider asked again) returns the payment unchanged."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.state == Payment.State.CONFIRMED:
            return payment
        if payment.state in (Payment.State.FAILED, Payment.State.CANCELLED):
            record_event(
                "payment.late_confirmation",
                payment=payment,
                from_state=payment.state,
                reason="確定通知を受けたが、すでに終了した支払い / confirmation for a closed payment",
            )
            return payment
        payment.paid_on = paid_on or today()
        payment.received_on = received_on
        payment.save(update_fields=["paid_on", "received_on"])
        _allocate(payment, actor=actor)
        _transition(payment, Payment.State.CONFIRMED, actor=actor, reason=reason)
    return payment


def fail_payment(*, payment_id: int, reason: str = "", actor=None) -> Payment:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.state in (Payment.State.CREATED, Payment.State.PENDING):
            _transition(payment, Payment.State.FAILED, actor=actor, reason=reason)
    return payment


def cancel_payment(*, payment_id: int, reason: str, actor=None) -> Payment:
    """Cancel an unfinished payment, or take back a confirmed one (a convenience-store 速報
    the agency reverses): its allocations are reversed and the installments are open again."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.state == Payment.State.CANCELLED:
            return payment
        if payment.state == Payment.State.CONFIRMED:
            credit = Credit.objects.select_for_update().filter(payment=payment).first()
            if credit is not None and credit.used:
                raise ValidationError(
                    "過誤納金が充当・還付済みのため取り消せません。 / The credit of this payment "
                    "was already applied or refunded."
                )
            _transition(payment, Payment.State.CANCELLED, actor=actor, reason=reason)
            live = list(
                Allocation.objects.filter(payment=payment, credit__isnull=True, amount__gt=0)
                .exclude(reversals__isnull=False)
                .order_by("installment_id")
            )
            installments = {
                item.pk: item
                for item in Installment.objects.select_for_update()
                .filter(pk__in=[a.installment_id for a in live])
                .order_by("id")
            }
            Allocation.objects.bulk_create(
                Allocation(
                    payment=payment,
                    installment=installments[a.installment_id],
                    amount=-a.amount,
                    reverses=a,
                )
                for a in live
            )
            if credit is not None:
                Credit.objects.filter(pk=credit.pk).update(amount=0)
            Payment.objects.filter(pk=payment.pk).update(credit_amount=0)
            _update_settlement({i.charge_id for i in installments.values()})
        else:
            _transition(payment, Payment.State.CANCELLED, actor=actor, reason=reason)
    return payment


def _open_installments_in_order(payment: Payment) -> list[Installment]:
    """Oldest due date first; a payment that names installments pays only those, in order."""
    if payment.targets:
        locked = {
            item.pk: item
            for item in Installment.objects.select_for_update()
            .filter(pk__in=payment.targets)
            .order_by("id")
        }
        return [locked[pk] for pk in payment.targets if pk in locked]
    if payment.payer_id is None:
        return []
    return list(
        Installment.objects.select_for_update()
        .filter(charge__payer_id=payment.payer_id, allocated__lt=F("amount"))
        .order_by("due_on", "id")
    )


def _allocate(payment: Payment, *, actor=None) -> list[Allocation]:
    remaining = payment.amount
    allocations = []
    for installment in _open_installments_in_order(payment):
        if remaining <= 0:
            break
        part = min(remaining, installment.amount - installment.allocated)
        if part <= 0:
            continue
        allocations.append(Allocation(payment=payment, installment=installment, amount=part))
        remaining -= part
    Allocation.objects.bulk_create(allocations)
    if remaining:
        Credit.objects.create(payment=payment, resident=payment.payer, amount=remaining)
        payment.credit_amount = remaining
        payment.save(update_fields=["credit_amount"])
        record_event("credit.created", payment=payment, amount=remaining, actor=actor)
    payment.allocated_amount = payment.amount - remaining
    _update_settlement({a.installment.charge_id for a in allocations})
    return allocations


def _update_settlement(charge_ids: Iterable[int]) -> None:
    """Mark charges fully paid (and queue the settled hooks once), or open again."""
    now = timezone.now()
    for charge in Charge.objects.select_for_update().filter(pk__in=set(charge_ids)).order_by("id"):
        open_left = Installment.objects.filter(charge=charge, allocated__lt=F("amount")).exists()
        if open_left and charge.settled_at is not None:
            charge.settled_at = None
            charge.save(update_fields=["settled_at"])
            record_event("charge.reopened", charge=charge, from_state="settled", to_state="open")
        elif not open_left and charge.settled_at is None:
            charge.settled_at = now
            fields = ["settled_at"]
            first_time = charge.settlement_notified_at is None
            if first_time:
                charge.settlement_notified_at = now
                fields.append("settlement_notified_at")
            charge.save(update_fields=fields)
            record_event("charge.settled", charge=charge, from_state="open", to_state="settled")
            if first_time and charge.origin:
                origin, pk = charge.origin, charge.pk
                transaction.on_commit(lambda origin=origin, pk=pk: hooks.run_settled(origin, pk))


def record_counter_payment(
    *,
    payer,
    amount: int,
    clerk,
    installment_ids: Sequence[int] = (),
    paid_on: date | None = None,
    channel: str = Channel.COUNTER,
) -> Payment:
    """A payment taken at the counter in cash or e-money; confirmed at once."""
    _require(clerk, "payments.add_payment")
    with transaction.atomic():
        payment = create_payment(
            payer=payer,
            channel=channel,
            amount=amount,
            targets=list(installment_ids),
            recorded_by=clerk,
        )
        return confirm_payment(
            payment_id=payment.pk, paid_on=paid_on, received_on=paid_on or today(), actor=clerk
        )


def apply_credit(*, credit: Credit, installment: Installment, amount: int, clerk) -> Allocation:
    """充当: apply part of a credit to an open installment."""
    _require(clerk, "payments.change_credit")
    with transaction.atomic():
        installment = Installment.objects.select_for_update().get(pk=installment.pk)
        credit = Credit.objects.select_for_update().get(pk=credit.pk)
        if amount <= 0 or amount > credit.remaining:
            raise ValidationError(
                {
                    "amount": f"充当できるのは{credit.remaining:,}円までです。 / At most "
                    f"{credit.remaining:,} yen can be applied."
                }
            )
        if amount > installment.outstanding:
            raise ValidationError(
                {
                    "amount": f"この期別の未納額は{installment.outstanding:,}円です。 / The "
                    f"installment has {installment.outstanding:,} yen outstanding."
                }
            )
        allocation = Allocation.objects.create(
            payment_id=credit.payment_id, installment=installment, amount=amount, credit=credit
        )
        record_event(
            "credit.applied",
            payment=credit.payment,
            installment=installment,
            charge=installment.charge,
            amount=amount,
            actor=clerk,
        )
        _update_settlement([installment.charge_id])
    return allocation


def refund_credit(*, credit: Credit, amount: int, reason: str, clerk) -> Refund:
    """還付: pay part of a credit back to the payer."""
    _require(clerk, "payments.add_refund")
    with transaction.atomic():
        credit = Credit.objects.select_for_update().get(pk=credit.pk)
        if amount <= 0 or amount > credit.remaining:
            raise ValidationError(
                {
                    "amount": f"還付できるのは{credit.remaining:,}円までです。 / At most "
                    f"{credit.remaining:,} yen can be refunded."
                }
            )
        refund = Refund.objects.create(credit=credit, amount=amount, reason=reason, clerk=clerk)
        Credit.objects.filter(pk=credit.pk).update(used=F("used") + amount)
        record_event(
            "refund.requested",
            payment=credit.payment,
            refund=refund,
            to_state=Refund.State.REQUESTED,
            amount=amount,
            reason=reason,
            actor=clerk,
        )
    return refund


def mark_refund_paid(*, refund: Refund, clerk) -> Refund:
    _require(clerk, "payments.change_refund")
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.state != Refund.State.REQUESTED:
            return refund
        refund.state = Refund.State.PAID
        refund.save(update_fields=["state"])
        record_event(
            "refund.paid",
            refund=refund,
            payment=refund.credit.payment,
            from_state=Refund.State.REQUESTED,
            to_state=Refund.State.PAID,
            amount=refund.amount,
            actor=clerk,
        )
    return refund


def withdraw_unpaid_charge(*, origin: str, reason: str, amount: int | None = None) -> Charge | None:
    """調定の取消・減額 by the app that made the charge, for what was never paid: a facility hold
    that expired, a lottery win not confirmed in time, an unpaid booking cancelled.

    ``amount`` yen (everything still unpaid when None) come off the charge's unpaid part, last
    installment first, as adjusting entries with the reason. Paid money is never touched, so no
    money moves and no person has to decide: taking a charge below what was paid is a refund,
    which stays with clerks (``correct_charge``, then ``refund_credit``). Returns the charge, or
    None when no charge has that origin; withdrawing everything twice changes nothing.
    """
    from django.utils.translation import gettext as _

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
