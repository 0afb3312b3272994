"""Payments (収納): creation with idempotency keys, confirmation and allocation (消込), failure,
review of differing amounts, cancellation, and counter cash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ..models import (
    Allocation,
    Channel,
    Credit,
    Installment,
    Payment,
)
from .ledger import (
    _charge_ids_of,
    _live_allocations,
    _lock_charges,
    _lock_installments,
    _lock_payments,
    _PlanChanged,
    _require,
    _update_settlement,
    _with_lock_plan,
    record_event,
    today,
)


class IdempotencyConflict(ValidationError):
    """The idempotency key was used before with a different request (the API answers 409)."""


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
    from ..providers import registry

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
