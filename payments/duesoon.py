"""納期限が近づいています: tell payers a few days before an open installment falls due.

The payments app raises `payments.installment_due` (cityhall.events) for every installment with
money outstanding whose due date is `days_before` days after `on_date`; the notices app, if
installed, tells the payer as they chose. The dedupe key (installment and due date) makes a
repeated run, or a run resumed after a crash, raise nothing twice.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction

from cityhall.events import raise_event

from . import selectors

CHUNK = 2000


def days_before() -> int:
    return int(getattr(settings, "PAYMENTS_DUE_SOON_DAYS", 7))


def announce_due_installments(*, on_date: date, days: int | None = None) -> int:
    """Raise the event for installments due on on_date + days; returns how many."""
    due_on = on_date + timedelta(days=days_before() if days is None else days)
    installments = (
        selectors.open_installments_due_between(due_on, due_on)
        .select_related("charge__revenue")
        .order_by("id")
    )
    raised = 0
    batch = []
    for installment in installments.iterator(chunk_size=CHUNK):
        batch.append(installment)
        if len(batch) >= CHUNK:
            raised += _raise(batch)
            batch = []
    if batch:
        raised += _raise(batch)
    return raised


def _raise(installments: list) -> int:
    with transaction.atomic():
        for installment in installments:
            revenue = installment.charge.revenue
            raise_event(
                "payments.installment_due",
                resident_id=installment.charge.payer_id,
                dedupe_key=f"payments.due:{installment.pk}:{installment.due_on.isoformat()}",
                context={
                    "revenue": revenue.name_ja,
                    "revenue_en": revenue.name_en,
                    "number": installment.number,
                    "due_date": installment.due_on.isoformat(),
                    "amount": installment.amount - installment.allocated,
                },
            )
    return len(installments)
