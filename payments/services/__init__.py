"""Every change to the ledger: charges, corrections, payments, allocation, credits and refunds.

One module per concern — ``charges`` (賦課・更正), ``payments`` (収納・消込), ``credits`` (充当・還付)
and ``ledger`` (permissions, events, locks, settlement) — with the same public names here. Each
function is one use case in one transaction. The database constraints (see
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

from .charges import (
    FEE_DUE_DAYS,
    correct_charge,
    create_charge,
    create_fee_charge,
    split_installments,
    withdraw_unpaid_charge,
)
from .credits import apply_credit, mark_refund_paid, reducers_of, refund_credit
from .ledger import (
    LOCK_ATTEMPTS,
    _require,
    approval_threshold,
    fiscal_year_of,
    record_event,
    today,
)
from .payments import (
    IdempotencyConflict,
    accept_reviewed_payment,
    cancel_payment,
    confirm_payment,
    create_payment,
    fail_payment,
    hold_for_review,
    mark_pending,
    record_counter_payment,
    refund_reviewed_payment,
    request_digest,
)

__all__ = [
    "withdraw_unpaid_charge",
    "FEE_DUE_DAYS",
    "LOCK_ATTEMPTS",
    "IdempotencyConflict",
    "_require",
    "accept_reviewed_payment",
    "apply_credit",
    "approval_threshold",
    "cancel_payment",
    "confirm_payment",
    "correct_charge",
    "create_charge",
    "create_fee_charge",
    "create_payment",
    "fail_payment",
    "fiscal_year_of",
    "hold_for_review",
    "mark_pending",
    "mark_refund_paid",
    "record_counter_payment",
    "record_event",
    "reducers_of",
    "refund_credit",
    "refund_reviewed_payment",
    "request_digest",
    "split_installments",
    "today",
]
