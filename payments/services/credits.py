"""Credits (過誤納金): applying them to installments (充当) and refunding them (還付), with
separation of duties."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ..models import (
    Allocation,
    Approval,
    Credit,
    Installment,
    LedgerEvent,
    Refund,
)
from .ledger import (
    _check_approval,
    _lock_charges,
    _lock_installments,
    _require,
    _update_settlement,
    record_event,
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
