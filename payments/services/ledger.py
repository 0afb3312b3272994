"""The ledger's common ground: permissions, events, the locks (in the order
``payments.services`` gives), settlement and its hooks, and the approval threshold."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import hooks
from ..models import (
    Allocation,
    Approval,
    Charge,
    Installment,
    LedgerEvent,
    Payment,
    Refund,
)


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
