"""Four eyes on money going out (更正・還付): requests above the threshold wait for a supervisor.

A clerk asks for a correction or a refund (:func:`request_correction`, :func:`request_refund`).
At or below :func:`payments.services.approval_threshold` it is applied at once; above it, an
``Approval`` row waits until a supervisor other than the requester decides (:func:`decide`), and
only an approval applies it — with the requester as the one who made it and the approver named
in the ledger events. For refunds, nobody who reduced a charge into the credit (or approved
that reduction) may request or approve its refund (separation of duties,
:func:`payments.services.reducers_of`).

Lock order: the approval row first (bookkeeping), then the ledger rows in the order of
``payments.services``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import services
from .models import Adjustment, Approval, Charge, Credit, Installment, Refund


@dataclass(frozen=True)
class Outcome:
    """What a request did: applied at once (``result``) or waiting for approval."""

    approval: Approval | None = None
    adjustments: tuple[Adjustment, ...] = ()
    refund: Refund | None = None

    @property
    def pending(self) -> bool:
        return self.approval is not None


def correction_size(charge: Charge, new_amounts: dict[int, int]) -> int:
    current = dict(Installment.objects.filter(charge=charge).values_list("number", "amount"))
    return sum(abs(amount - current.get(number, 0)) for number, amount in new_amounts.items())


def request_correction(
    *, charge: Charge, new_amounts: dict[int, int], reason: str, clerk
) -> Outcome:
    """更正 as asked: applied now when small, otherwise an approval request."""
    services._require(clerk, "payments.add_adjustment")
    new_amounts = {int(n): int(a) for n, a in new_amounts.items()}
    if not reason.strip():
        raise ValidationError({"reason": _("更正の理由を入力してください。")})
    numbers = set(Installment.objects.filter(charge=charge).values_list("number", flat=True))
    if set(new_amounts) - numbers or any(amount < 0 for amount in new_amounts.values()):
        raise ValidationError({"new_amounts": _("期別と0円以上の金額を指定してください。")})
    size = correction_size(charge, new_amounts)
    if size == 0:
        raise ValidationError(_("金額が変わっていません。"))
    if size <= services.approval_threshold():
        adjustments = services.correct_charge(
            charge=charge, new_amounts=new_amounts, reason=reason, clerk=clerk
        )
        return Outcome(adjustments=tuple(adjustments))
    with transaction.atomic():
        approval = Approval.objects.create(
            kind=Approval.Kind.CORRECTION,
            charge=charge,
            amount=size,
            params={"new_amounts": {str(n): a for n, a in sorted(new_amounts.items())}},
            reason=reason,
            requested_by=clerk,
        )
        services.record_event(
            "approval.requested",
            charge=charge,
            amount=size,
            reason=reason,
            actor=clerk,
            to_state=Approval.State.PENDING,
            data={"approval": approval.pk, "kind": approval.kind, **approval.params},
        )
    return Outcome(approval=approval)


def request_refund(*, credit: Credit, amount: int, reason: str, clerk) -> Outcome:
    """還付 as asked: made now when small, otherwise an approval request."""
    services._require(clerk, "payments.add_refund")
    if not reason.strip():
        raise ValidationError({"reason": _("還付の理由を入力してください。")})
    if clerk.pk in services.reducers_of(credit):
        raise ValidationError(
            _("この過誤納金を生じた減額更正をした（または承認した）職員は、還付できません。")
        )
    credit.refresh_from_db()
    if amount <= 0 or amount > credit.remaining:
        raise ValidationError(
            {
                "amount": _("還付できるのは%(amount)s円までです。")
                % {"amount": f"{credit.remaining:,}"}
            }
        )
    if amount <= services.approval_threshold():
        refund = services.refund_credit(credit=credit, amount=amount, reason=reason, clerk=clerk)
        return Outcome(refund=refund)
    with transaction.atomic():
        approval = Approval.objects.create(
            kind=Approval.Kind.REFUND,
            credit=credit,
            amount=amount,
            params={"amount": amount},
            reason=reason,
            requested_by=clerk,
        )
        services.record_event(
            "approval.requested",
            payment=credit.payment,
            amount=amount,
            reason=reason,
            actor=clerk,
            to_state=Approval.State.PENDING,
            data={"approval": approval.pk, "kind": approval.kind, "credit": credit.pk},
        )
    return Outcome(approval=approval)


def decide(*, approval_id: int, approve: bool, note: str, supervisor) -> Approval:
    """A supervisor other than the requester approves (the change is applied now, in the same
    transaction) or rejects (nothing changes). Each decision is a ledger event."""
    if not supervisor.has_perm("payments.decide_approval"):
        raise PermissionDenied
    with transaction.atomic():
        approval = Approval.objects.select_for_update().get(pk=approval_id)
        if approval.state != Approval.State.PENDING:
            raise ValidationError(_("この申請はすでに決裁されています。"))
        if approval.requested_by_id == supervisor.pk:
            raise ValidationError(_("自分の申請は決裁できません。別の監督者が決裁します。"))
        if (
            approve
            and approval.kind == Approval.Kind.REFUND
            and supervisor.pk in services.reducers_of(approval.credit)
        ):
            raise ValidationError(
                _(
                    "この過誤納金を生じた減額更正をした（または承認した）職員は、還付を承認できません。"
                )
            )
        if not approve and not note.strip():
            raise ValidationError({"note": _("却下の理由を入力してください。")})
        approval.state = Approval.State.APPROVED if approve else Approval.State.REJECTED
        approval.decided_by = supervisor
        approval.decided_at = timezone.now()
        approval.decision_note = note
        approval.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        event = {
            "amount": approval.amount,
            "reason": note or approval.reason,
            "actor": supervisor,
            "from_state": Approval.State.PENDING,
            "to_state": approval.state,
            "data": {
                "approval": approval.pk,
                "kind": approval.kind,
                "requested_by": approval.requested_by_id,
            },
        }
        if approval.kind == Approval.Kind.CORRECTION:
            services.record_event(
                "approval.granted" if approve else "approval.rejected",
                charge=approval.charge,
                **event,
            )
            if approve:
                services.correct_charge(
                    charge=approval.charge,
                    new_amounts=approval.params["new_amounts"],
                    reason=approval.reason,
                    clerk=approval.requested_by,
                    approval=approval,
                )
        else:
            services.record_event(
                "approval.granted" if approve else "approval.rejected",
                payment=approval.credit.payment,
                **event,
            )
            if approve:
                services.refund_credit(
                    credit=approval.credit,
                    amount=approval.params["amount"],
                    reason=approval.reason,
                    clerk=approval.requested_by,
                    approval=approval,
                )
    return approval


def pending_approvals() -> QuerySet[Approval]:
    return Approval.objects.filter(state=Approval.State.PENDING).select_related(
        "charge__payer", "charge__revenue", "credit__payment", "credit__resident", "requested_by"
    )
