"""Every change to the ledger: charges, corrections, payments, allocation, credits and refunds.

Each function is one use case in one transaction. The database constraints (see
``payments.models``) are the last line; the services keep the rules first.

Lock order
----------
Every service here, every batch step and every approval takes row locks in this one order, so two
of them working on the same rows wait for each other instead of deadlocking:

0. bookkeeping rows of the step itself (the ``BatchRun``, a ``DebitRequest``, an ``Approval``);
1. charges, by id;
2. installments, by id;
3. payments, by id;
4. credits, by id;
5. refunds, by id.

A service that learns which rows it needs only by reading (which installments a payment will pay,
which a cancellation must reopen) reads them first without locks, then locks in this order and
checks the plan again; when the plan grew meanwhile (a charge was corrected, a payment confirmed)
the transaction starts over with the larger plan (:class:`_PlanChanged`). The allocation trigger
updates installments, payments and credits: each is already locked by then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from cityhall.dates import next_business_day

from . import hooks
from .models import (
    Adjustment,
    Allocation,
    Approval,
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
        raise PermissionDenied(
            _("この操作には権限（%(permission)s）が必要です。") % {"permission": permission}
        )


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
# Locks, in the order the module docstring gives

LOCK_ATTEMPTS = 5


class _PlanChanged(Exception):
    """The rows to lock changed between the unlocked read and the locks: start over."""

    def __init__(self, charge_ids: Iterable[int] = ()) -> None:
        super().__init__()
        self.charge_ids = set(charge_ids)


def _with_lock_plan(work):
    """Run ``work(extra_charge_ids)`` in a transaction, again with a larger plan when it raises
    :class:`_PlanChanged` (its transaction is rolled back first, releasing every lock)."""
    extra: set[int] = set()
    for _attempt in range(LOCK_ATTEMPTS):
        try:
            with transaction.atomic():
                return work(extra)
        except _PlanChanged as changed:
            extra |= changed.charge_ids
    raise RuntimeError(f"the rows to lock kept changing ({LOCK_ATTEMPTS} attempts)")


def _lock_charges(charge_ids: Iterable[int]) -> dict[int, Charge]:
    return {
        charge.pk: charge
        for charge in Charge.objects.select_for_update()
        .filter(pk__in=set(charge_ids))
        .order_by("id")
    }


def _lock_installments(installment_ids: Iterable[int]) -> dict[int, Installment]:
    return {
        item.pk: item
        for item in Installment.objects.select_for_update()
        .filter(pk__in=set(installment_ids))
        .order_by("id")
    }


def _lock_payments(payment_ids: Iterable[int]) -> dict[int, Payment]:
    return {
        payment.pk: payment
        for payment in Payment.objects.select_for_update()
        .filter(pk__in=set(payment_ids))
        .order_by("id")
    }


def _charge_ids_of(installment_ids: Iterable[int]) -> set[int]:
    return set(
        Installment.objects.filter(pk__in=set(installment_ids)).values_list("charge_id", flat=True)
    )


def _live_allocations(**filters) -> list[Allocation]:
    """Allocations with money still applied (their amount less what reversals took back), each
    with ``remaining`` set, newest first."""
    rows = (
        Allocation.objects.filter(amount__gt=0, **filters)
        .annotate(taken_back=Coalesce(Sum("reversals__amount"), 0))
        .filter(amount__gt=-F("taken_back"))
        .order_by("-id")
    )
    out = []
    for row in rows:
        row.remaining = row.amount + row.taken_back
        out.append(row)
    return out


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


def approval_threshold() -> int:
    """Corrections and refunds larger than this (yen) need a second person's approval."""
    return int(getattr(settings, "PAYMENTS_APPROVAL_THRESHOLD", 100_000))


def _check_approval(approval, *, kind: str, size: int, clerk, matches) -> None:
    """Above the threshold only an approved request of this very change may go through, and
    the approver is never the person applying it (payments.approvals takes the requests)."""
    if size <= approval_threshold():
        return
    if approval is None:
        raise ValidationError(
            _("%(amount)s円を超える更正・還付には、別の職員（監督者）の承認が必要です。")
            % {"amount": f"{approval_threshold():,}"}
        )
    if (
        approval.kind != kind
        or approval.state != Approval.State.APPROVED
        or approval.decided_by_id in (None, clerk.pk)
        or not matches(approval)
    ):
        raise ValidationError(_("承認された内容と一致しません。"))


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
        raise ValidationError({"channel": _("不明な収納チャネルです。")})
    if amount <= 0:
        raise ValidationError({"amount": _("金額は1円以上にしてください。")})
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
                raise IdempotencyConflict(_("この冪等キーは別の内容の支払いに使われています。"))
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
            _("支払いの状態を「%(from)s」から「%(to)s」に変えることはできません。")
            % {
                "from": Payment.State(payment.state).label,
                "to": Payment.State(to_state).label,
            }
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

    def work(extra_charges: set[int]) -> Payment:
        payment = Payment.objects.get(pk=payment_id)
        if payment.state == Payment.State.CONFIRMED:
            return payment
        planned = _lock_charges(_charge_ids_to_allocate(payment) | extra_charges)
        payment = _lock_payments([payment_id])[payment_id]
        if payment.state == Payment.State.CONFIRMED:
            return payment
        if payment.state in (Payment.State.FAILED, Payment.State.CANCELLED):
            record_event(
                "payment.late_confirmation",
                payment=payment,
                from_state=payment.state,
                reason=_("確定通知を受けたが、すでに終了した支払い"),
            )
            return payment
        installments = _open_installments_in_order(payment)
        unplanned = {item.charge_id for item in installments} - set(planned)
        if unplanned:
            raise _PlanChanged(unplanned)
        payment.paid_on = paid_on or today()
        payment.received_on = received_on
        payment.save(update_fields=["paid_on", "received_on"])
        _allocate(payment, installments, actor=actor)
        _transition(payment, Payment.State.CONFIRMED, actor=actor, reason=reason)
        return payment

    return _with_lock_plan(work)


def fail_payment(*, payment_id: int, reason: str = "", actor=None) -> Payment:
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.state in (Payment.State.CREATED, Payment.State.PENDING):
            _transition(payment, Payment.State.FAILED, actor=actor, reason=reason)
    return payment


def hold_for_review(
    *, payment_id: int, captured_amount: int, captured_on: date | None = None, reason: str = ""
) -> Payment:
    """The provider captured another amount than the payment asked for: keep the payment, with
    the captured amount, in needs_review for a supervisor (:func:`resolve_review`) — the money
    is there and stays visible; nothing is allocated until someone decides."""
    with transaction.atomic():
        payment = _lock_payments([payment_id])[payment_id]
        if payment.state not in (Payment.State.CREATED, Payment.State.PENDING):
            return payment
        payment.provider_amount = captured_amount
        payment.paid_on = captured_on or today()
        payment.save(update_fields=["provider_amount", "paid_on"])
        record_event(
            "payment.amount_mismatch",
            payment=payment,
            amount=captured_amount,
            reason=reason,
            data={"asked": payment.amount, "captured": captured_amount},
        )
        _transition(payment, Payment.State.NEEDS_REVIEW, reason=reason)
    return payment


def accept_reviewed_payment(*, payment_id: int, reason: str, supervisor) -> Payment:
    """A supervisor accepts the amount the provider captured: the payment becomes that amount
    and is confirmed (allocated, any excess to credit)."""
    _require(supervisor, "payments.review_payment")
    if not reason.strip():
        raise ValidationError({"reason": _("理由を入力してください。")})
    with transaction.atomic():
        payment = _lock_payments([payment_id])[payment_id]
        if payment.state != Payment.State.NEEDS_REVIEW:
            raise ValidationError(_("確認待ちの収納ではありません。"))
        asked = payment.amount
        payment.amount = payment.provider_amount
        payment.save(update_fields=["amount"])
        _transition(payment, Payment.State.PENDING, actor=supervisor, reason=reason)
        record_event(
            "payment.review_accepted",
            payment=payment,
            amount=payment.amount,
            reason=reason,
            actor=supervisor,
            data={"asked": asked, "captured": payment.amount},
        )
        paid_on = payment.paid_on
    return confirm_payment(payment_id=payment_id, paid_on=paid_on, actor=supervisor, reason=reason)


def refund_reviewed_payment(*, payment_id: int, reason: str, supervisor) -> Payment:
    """A supervisor sends the captured money back through the provider and cancels the
    payment: the installments stay open."""
    from .providers import registry

    _require(supervisor, "payments.review_payment")
    if not reason.strip():
        raise ValidationError({"reason": _("理由を入力してください。")})
    with transaction.atomic():
        payment = _lock_payments([payment_id])[payment_id]
        if payment.state != Payment.State.NEEDS_REVIEW:
            raise ValidationError(_("確認待ちの収納ではありません。"))
        registry.get(payment.provider).refund(payment, payment.provider_amount)
        record_event(
            "payment.review_refunded",
            payment=payment,
            amount=payment.provider_amount,
            reason=reason,
            actor=supervisor,
        )
        _transition(payment, Payment.State.CANCELLED, actor=supervisor, reason=reason)
    return payment


def cancel_payment(*, payment_id: int, reason: str, actor=None) -> Payment:
    """Cancel an unfinished payment, or take back a confirmed one (a convenience-store 速報
    the agency reverses): what is still applied of it is reversed and the installments are open
    again."""

    def work(extra_charges: set[int]) -> Payment:
        payment = Payment.objects.get(pk=payment_id)
        if payment.state == Payment.State.CANCELLED:
            return payment
        planned_installments = {
            a.installment_id for a in _live_allocations(payment=payment, credit__isnull=True)
        }
        planned = _lock_charges(_charge_ids_of(planned_installments) | extra_charges)
        installments = _lock_installments(planned_installments)
        payment = _lock_payments([payment_id])[payment_id]
        if payment.state == Payment.State.CANCELLED:
            return payment
        if payment.state != Payment.State.CONFIRMED:
            _transition(payment, Payment.State.CANCELLED, actor=actor, reason=reason)
            return payment
        live = _live_allocations(payment=payment, credit__isnull=True)
        if {a.installment_id for a in live} - set(installments):
            raise _PlanChanged(_charge_ids_of(a.installment_id for a in live) - set(planned))
        credit = Credit.objects.select_for_update().filter(payment=payment).first()
        if credit is not None and credit.used:
            raise ValidationError(_("過誤納金が充当・還付済みのため取り消せません。"))
        _transition(payment, Payment.State.CANCELLED, actor=actor, reason=reason)
        Allocation.objects.bulk_create(
            Allocation(
                payment=payment,
                installment=installments[a.installment_id],
                amount=-a.remaining,
                reverses=a,
            )
            for a in sorted(live, key=lambda a: a.installment_id)
        )
        if credit is not None:
            Credit.objects.filter(pk=credit.pk).update(amount=0)
        Payment.objects.filter(pk=payment.pk).update(credit_amount=0)
        _update_settlement({installments[a.installment_id].charge_id for a in live})
        return payment

    return _with_lock_plan(work)


def _charge_ids_to_allocate(payment: Payment) -> set[int]:
    """The charges a confirmation may allocate to (read without locks, to lock them first)."""
    if payment.targets:
        return _charge_ids_of(payment.targets)
    if payment.payer_id is None:
        return set()
    return set(
        Installment.objects.filter(
            charge__payer_id=payment.payer_id, allocated__lt=F("amount")
        ).values_list("charge_id", flat=True)
    )


def _open_installments_in_order(payment: Payment) -> list[Installment]:
    """Oldest due date first; a payment that names installments pays only those, in order."""
    if payment.targets:
        locked = _lock_installments(payment.targets)
        return [locked[pk] for pk in payment.targets if pk in locked]
    if payment.payer_id is None:
        return []
    locked = _lock_installments(
        Installment.objects.filter(
            charge__payer_id=payment.payer_id, allocated__lt=F("amount")
        ).values_list("pk", flat=True)
    )
    return sorted(
        (item for item in locked.values() if item.allocated < item.amount),
        key=lambda item: (item.due_on, item.pk),
    )


def _allocate(
    payment: Payment, installments: Sequence[Installment], *, actor=None
) -> list[Allocation]:
    remaining = payment.amount
    allocations = []
    for installment in installments:
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
    """Mark charges fully paid, or open again; queue the settled hooks once a charge is paid by
    final money only.

    A convenience-store 速報 counts for the resident at once (the statement shows it paid), but
    the agency may still take it back (03 速報取消): what depends on the payment — a case going
    to review, a certificate issued — waits until the charge is paid without any live 速報 (its
    確報 or other money), so the hooks never run for money that may vanish.
    """
    now = timezone.now()
    for charge in Charge.objects.select_for_update().filter(pk__in=set(charge_ids)).order_by("id"):
        open_left = Installment.objects.filter(charge=charge, allocated__lt=F("amount")).exists()
        if open_left and charge.settled_at is not None:
            charge.settled_at = None
            charge.save(update_fields=["settled_at"])
            record_event("charge.reopened", charge=charge, from_state="settled", to_state="open")
        elif not open_left and charge.settled_at is None:
            charge.settled_at = now
            charge.save(update_fields=["settled_at"])
            record_event("charge.settled", charge=charge, from_state="open", to_state="settled")
        if (
            charge.settled_at is not None
            and charge.settlement_notified_at is None
            and not _paid_provisionally(charge.pk)
        ):
            charge.settlement_notified_at = now
            charge.save(update_fields=["settlement_notified_at"])
            if charge.origin:
                origin, pk = charge.origin, charge.pk
                transaction.on_commit(lambda origin=origin, pk=pk: hooks.run_settled(origin, pk))


def _paid_provisionally(charge_id: int) -> bool:
    """Whether money of a confirmed 速報 is still applied to the charge (directly, or as 充当
    from its credit)."""
    return (
        Allocation.objects.filter(
            installment__charge_id=charge_id,
            payment__provisional=True,
            payment__state=Payment.State.CONFIRMED,
        )
        .values("payment_id")
        .annotate(applied=Sum("amount"))
        .filter(applied__gt=0)
        .exists()
    )


def record_counter_payment(
    *,
    payer,
    amount: int,
    clerk,
    installment_ids: Sequence[int] = (),
    paid_on: date | None = None,
    channel: str = Channel.COUNTER,
    idempotency_key: str | None = None,
) -> Payment:
    """A payment taken at the counter in cash or e-money; confirmed at once. The counter form
    carries an idempotency key: the same form submitted twice records the cash once."""
    _require(clerk, "payments.add_payment")
    with transaction.atomic():
        payment = create_payment(
            payer=payer,
            channel=channel,
            amount=amount,
            targets=list(installment_ids),
            recorded_by=clerk,
            idempotency_key=f"counter:{clerk.pk}:{idempotency_key}" if idempotency_key else None,
        )
        return confirm_payment(
            payment_id=payment.pk, paid_on=paid_on, received_on=paid_on or today(), actor=clerk
        )


def apply_credit(*, credit: Credit, installment: Installment, amount: int, clerk) -> Allocation:
    """充当: apply part of a credit to an open installment."""
    _require(clerk, "payments.change_credit")
    with transaction.atomic():
        _lock_charges([installment.charge_id])
        installment = _lock_installments([installment.pk])[installment.pk]
        credit = Credit.objects.select_for_update().get(pk=credit.pk)
        if amount <= 0 or amount > credit.remaining:
            raise ValidationError(
                {
                    "amount": _("充当できるのは%(amount)s円までです。")
                    % {"amount": f"{credit.remaining:,}"}
                }
            )
        if amount > installment.outstanding:
            raise ValidationError(
                {
                    "amount": _("この期別の未納額は%(amount)s円です。")
                    % {"amount": f"{installment.outstanding:,}"}
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


def reducers_of(credit: Credit) -> set[int]:
    """The staff who reduced a charge so that money went into this credit, and who approved
    those reductions: separation of duties keeps them from refunding it."""
    people = set()
    for actor_id, data in LedgerEvent.objects.filter(
        kind="allocation.released", payment_id=credit.payment_id
    ).values_list("actor_id", "data"):
        people.add(actor_id)
        people.add((data or {}).get("approved_by"))
    people.discard(None)
    return people


def refund_credit(*, credit: Credit, amount: int, reason: str, clerk, approval=None) -> Refund:
    """還付: pay part of a credit back to the payer.

    Separation of duties: nobody who reduced a charge into this credit (or approved that
    reduction) refunds it. A refund above :func:`approval_threshold` needs ``approval``.
    """
    _require(clerk, "payments.add_refund")
    if not reason.strip():
        raise ValidationError({"reason": _("還付の理由を入力してください。")})
    with transaction.atomic():
        credit = Credit.objects.select_for_update().get(pk=credit.pk)
        if clerk.pk in reducers_of(credit):
            raise ValidationError(
                _("この過誤納金を生じた減額更正をした（または承認した）職員は、還付できません。")
            )
        if amount <= 0 or amount > credit.remaining:
            raise ValidationError(
                {
                    "amount": _("還付できるのは%(amount)s円までです。")
                    % {"amount": f"{credit.remaining:,}"}
                }
            )
        _check_approval(
            approval,
            kind=Approval.Kind.REFUND,
            size=amount,
            clerk=clerk,
            matches=lambda a: a.credit_id == credit.pk and a.params.get("amount") == amount,
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
            data={"approval": approval.pk, "approved_by": approval.decided_by_id}
            if approval
            else None,
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
