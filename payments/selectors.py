"""Reads of the ledger that other apps and our views use."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date

from django.db import connection, transaction
from django.db.models import F, Prefetch, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import get_language

from . import latecharge
from .models import (
    Allocation,
    BatchRun,
    Charge,
    Credit,
    Installment,
    Notice,
    Payment,
    Revenue,
)

logger = logging.getLogger(__name__)


def charge_for_origin(origin: str) -> Charge | None:
    return Charge.objects.select_related("revenue").filter(origin=origin).first()


def is_settled(charge: Charge) -> bool:
    """Whether every installment of the charge is fully paid (read fresh from the database)."""
    return not Installment.objects.filter(charge_id=charge.pk, allocated__lt=F("amount")).exists()


def payments_on(installment: Installment) -> list[tuple[date, int]]:
    """(date, amount) applied to an installment by confirmed payments, for the late charge."""
    out = []
    for allocation in installment.allocations.all():
        payment = allocation.payment
        if payment.state != Payment.State.CONFIRMED:
            continue
        when = (
            timezone.localdate(allocation.created_at)
            if allocation.credit_id
            else payment.paid_on or timezone.localdate(allocation.created_at)
        )
        out.append((when, allocation.amount))
    return out


def late_charge_for(installment: Installment, as_of: date) -> int | None:
    """The late charge through ``as_of``; None while a year it spans has no rate yet (the
    pages say "not yet fixed", the late-charge run refuses to bill)."""
    revenue = installment.charge.revenue
    if not revenue.bears_late_charge or as_of <= installment.due_on:
        return 0
    try:
        return latecharge.late_charge_on_balance(
            installment.amount,
            installment.due_on,
            as_of,
            payments_on(installment),
            first_period_months=revenue.first_period_months,
        )
    except latecharge.MissingRate as error:
        logger.warning("late charge of installment %s not computed: %s", installment.pk, error)
        return None


def _installments_of(resident) -> QuerySet[Installment]:
    return (
        Installment.objects.filter(charge__payer=resident)
        .select_related("charge__revenue")
        .prefetch_related(
            Prefetch("allocations", queryset=Allocation.objects.select_related("payment"))
        )
        .order_by("due_on", "id")
    )


def installment_row(installment: Installment, as_of: date) -> dict:
    revenue = installment.charge.revenue
    return {
        "id": installment.pk,
        "charge_id": installment.charge_id,
        "revenue_code": revenue.code,
        "revenue": revenue.name_for(get_language()),
        "fiscal_year": installment.charge.fiscal_year,
        "number": installment.number,
        "due_on": installment.due_on,
        "amount": installment.amount,
        "paid": installment.allocated,
        "outstanding": installment.amount - installment.allocated,
        "late_charge": late_charge_for(installment, as_of),
        "overdue": as_of > installment.due_on and installment.allocated < installment.amount,
        "parcel_key": installment.charge.parcel_key,
        "description": installment.charge.description,
    }


def open_installments_for_resident(resident, *, as_of: date | None = None) -> list[dict]:
    """Every installment with money outstanding, across revenues, oldest due date first."""
    as_of = as_of or timezone.localdate()
    rows = _installments_of(resident).filter(allocated__lt=F("amount"))
    return [installment_row(item, as_of) for item in rows]


def installments_for_resident(resident, *, as_of: date | None = None) -> list[dict]:
    """Every installment, paid or not (the statement's history view)."""
    as_of = as_of or timezone.localdate()
    return [installment_row(item, as_of) for item in _installments_of(resident)]


def balance_for_resident(
    resident, *, as_of: date | None = None, rows: list[dict] | None = None
) -> dict:
    """Totals of the open installments; pass ``rows`` when the caller has already read them."""
    if rows is None:
        rows = open_installments_for_resident(resident, as_of=as_of)
    principal = sum(row["outstanding"] for row in rows)
    late = sum(row["late_charge"] or 0 for row in rows)
    credit = (
        Credit.objects.filter(resident=resident).aggregate(left=Sum(F("amount") - F("used")))[
            "left"
        ]
        or 0
    )
    return {
        "outstanding": principal,
        "late_charges": late,
        "total": principal + late,
        "open_installments": len(rows),
        "overdue_installments": sum(1 for row in rows if row["overdue"]),
        "credit": credit,
        # A late charge not yet computable (no rate for a year it spans) is left out above.
        "late_charges_pending": any(row["late_charge"] is None for row in rows),
    }


def charges_for_parcel(parcel_key: str) -> QuerySet[Charge]:
    """Fixed-asset tax (and any other) charges levied on a parcel (筆)."""
    return (
        Charge.objects.filter(parcel_key=parcel_key)
        .select_related("revenue", "payer")
        .order_by("-fiscal_year", "id")
    )


def tax_summary(resident, fiscal_year: int) -> dict:
    """Assessed amounts per tax revenue for one fiscal year (for the 課税証明書).

    ``{"fiscal_year": …, "taxes": [{"code", "name", "amount"}], "total": …}``; the amount is the
    charge after corrections.
    """
    rows = (
        Charge.objects.filter(
            payer=resident, fiscal_year=fiscal_year, revenue__kind=Revenue.Kind.TAX
        )
        .values("revenue__code", "revenue__name_ja", "revenue__name_en")
        .annotate(amount=Sum("amount"))
        .order_by("revenue__code")
    )
    language = get_language() or "ja"
    taxes = [
        {
            "code": row["revenue__code"],
            "name": row["revenue__name_en"]
            if language.startswith("en")
            else row["revenue__name_ja"],
            "amount": row["amount"],
        }
        for row in rows
    ]
    return {
        "fiscal_year": fiscal_year,
        "taxes": taxes,
        "total": sum(item["amount"] for item in taxes),
    }


def payments_for_resident(resident) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(payer=resident)
        .prefetch_related("allocations__installment__charge__revenue")
        .order_by("-created_at", "-id")
    )


def charges_for_resident(resident, *, limit: int = 50) -> QuerySet[Charge]:
    """The resident's charges, newest fiscal year first (for the staff money pages)."""
    return (
        Charge.objects.filter(payer=resident)
        .select_related("revenue")
        .order_by("-fiscal_year", "-id")[:limit]
    )


def credits_for_resident(resident) -> QuerySet[Credit]:
    return Credit.objects.filter(resident=resident, used__lt=F("amount")).select_related("payment")


def arrears_by_resident(*, as_of: date | None = None, limit: int = 200) -> list[dict]:
    """Residents with overdue installments: count, principal outstanding, oldest due date."""
    as_of = as_of or timezone.localdate()
    rows = (
        Installment.objects.filter(due_on__lt=as_of, allocated__lt=F("amount"))
        .values("charge__payer_id", "charge__payer__family_name", "charge__payer__given_name")
        .annotate(outstanding=Sum(F("amount") - F("allocated")))
        .order_by("-outstanding")[:limit]
    )
    return [
        {
            "resident_id": row["charge__payer_id"],
            "name": f"{row['charge__payer__family_name']} {row['charge__payer__given_name']}",
            "outstanding": row["outstanding"],
        }
        for row in rows
    ]


def arrears_for_resident(resident, *, as_of: date | None = None) -> dict:
    as_of = as_of or timezone.localdate()
    rows = [row for row in open_installments_for_resident(resident, as_of=as_of) if row["overdue"]]
    notices = defaultdict(list)
    for notice in Notice.objects.filter(installment_id__in=[row["id"] for row in rows]):
        notices[notice.installment_id].append(notice)
    for row in rows:
        row["notices"] = notices.get(row["id"], [])
        demand = next((n for n in row["notices"] if n.kind == Notice.Kind.DEMAND), None)
        # 地方税法331条: seizure may start when still unpaid 10 days after the demand notice.
        row["seizure_possible"] = demand is not None and (as_of - demand.issued_on).days > 10
    return {
        "rows": rows,
        "outstanding": sum(row["outstanding"] for row in rows),
        "late_charges": sum(row["late_charge"] or 0 for row in rows),
        "total": sum(row["outstanding"] + (row["late_charge"] or 0) for row in rows),
    }


RECONCILIATION_CHECKS: dict[str, str] = {
    "installments_sum_to_charge": """
        SELECT c.id AS object_id, c.amount AS expected, COALESCE(SUM(i.amount), 0) AS actual
          FROM payments_charge c LEFT JOIN payments_installment i ON i.charge_id = c.id
         GROUP BY c.id HAVING c.amount <> COALESCE(SUM(i.amount), 0)""",
    "installment_allocated_matches_allocations": """
        SELECT i.id AS object_id, i.allocated AS expected, COALESCE(SUM(a.amount), 0) AS actual
          FROM payments_installment i LEFT JOIN payments_allocation a ON a.installment_id = i.id
         GROUP BY i.id HAVING i.allocated <> COALESCE(SUM(a.amount), 0)""",
    "installment_over_allocated": """
        SELECT id AS object_id, amount AS expected, allocated AS actual
          FROM payments_installment WHERE allocated > amount OR allocated < 0""",
    "confirmed_payment_applied_in_full": """
        SELECT p.id AS object_id, p.amount AS expected,
               COALESCE((SELECT SUM(a.amount) FROM payments_allocation a
                          WHERE a.payment_id = p.id AND a.credit_id IS NULL), 0)
               + COALESCE((SELECT c.amount FROM payments_credit c WHERE c.payment_id = p.id), 0)
               AS actual
          FROM payments_payment p WHERE p.state = 'confirmed' AND p.amount <>
               COALESCE((SELECT SUM(a.amount) FROM payments_allocation a
                          WHERE a.payment_id = p.id AND a.credit_id IS NULL), 0)
               + COALESCE((SELECT c.amount FROM payments_credit c WHERE c.payment_id = p.id), 0)""",
    "unconfirmed_payment_applies_nothing": """
        SELECT p.id AS object_id, 0 AS expected, SUM(a.amount) AS actual
          FROM payments_payment p JOIN payments_allocation a ON a.payment_id = p.id
         WHERE p.state <> 'confirmed' AND a.credit_id IS NULL
         GROUP BY p.id HAVING SUM(a.amount) <> 0""",
    "credit_used_matches": """
        SELECT c.id AS object_id, c.used AS expected,
               COALESCE((SELECT SUM(a.amount) FROM payments_allocation a
                          WHERE a.credit_id = c.id), 0)
               + COALESCE((SELECT SUM(r.amount) FROM payments_refund r
                          WHERE r.credit_id = c.id AND r.state <> 'cancelled'), 0) AS actual
          FROM payments_credit c WHERE c.used <>
               COALESCE((SELECT SUM(a.amount) FROM payments_allocation a
                          WHERE a.credit_id = c.id), 0)
               + COALESCE((SELECT SUM(r.amount) FROM payments_refund r
                          WHERE r.credit_id = c.id AND r.state <> 'cancelled'), 0)""",
    "installment_amount_is_assessed_plus_adjustments": """
        SELECT i.id AS object_id, i.assessed_amount + COALESCE(SUM(d.delta), 0) AS expected,
               i.amount AS actual
          FROM payments_installment i LEFT JOIN payments_adjustment d ON d.installment_id = i.id
         GROUP BY i.id HAVING i.amount <> i.assessed_amount + COALESCE(SUM(d.delta), 0)""",
}


def reconciliation_report(*, limit: int = 100) -> dict:
    """Every violation of the ledger's invariants (there should be none), with totals.

    The database refuses most of these at write time; the report checks again from the raw
    rows, so a trigger dropped by mistake or a hand-made SQL fix shows up here.
    """
    violations = []
    with transaction.atomic(), connection.cursor() as cursor:
        # Every check reads whole tables: hash and merge joins are always the right plan, and a
        # nested loop chosen on stale statistics (a table sampled while empty) is quadratic.
        cursor.execute("SET LOCAL enable_nestloop = off")
        for name, sql in RECONCILIATION_CHECKS.items():
            cursor.execute(f"{sql} LIMIT %s", [limit])
            for object_id, expected, actual in cursor.fetchall():
                violations.append(
                    {
                        "check": name,
                        "object_id": object_id,
                        "expected": int(expected or 0),
                        "actual": int(actual or 0),
                    }
                )
        cursor.execute(
            """SELECT (SELECT COALESCE(SUM(amount), 0) FROM payments_charge),
                      (SELECT COALESCE(SUM(amount), 0) FROM payments_payment
                        WHERE state = 'confirmed'),
                      (SELECT COALESCE(SUM(amount), 0) FROM payments_allocation),
                      (SELECT COALESCE(SUM(amount - used), 0) FROM payments_credit),
                      (SELECT COALESCE(SUM(amount), 0) FROM payments_refund
                        WHERE state <> 'cancelled')"""
        )
        charged, received, allocated, credit_left, refunded = cursor.fetchone()
    return {
        "ok": not violations,
        "violations": violations,
        "totals": {
            "charged": int(charged),
            "received": int(received),
            "allocated": int(allocated),
            "credit_outstanding": int(credit_left),
            "refunded": int(refunded),
        },
    }


def recent_batch_runs(limit: int = 50) -> QuerySet[BatchRun]:
    return BatchRun.objects.defer("output").order_by("-id")[:limit]


def revenue_by_code(code: str) -> Revenue | None:
    """A revenue (歳入科目) with its schedule of nominal due dates, for apps that bill it."""
    return Revenue.objects.filter(code=code).first()


def open_installments_due_between(start: date, end: date) -> QuerySet[Installment]:
    """Installments with money outstanding whose due date falls in [start, end] (both
    included), late charges excluded; on the partial index of open installments."""
    return Installment.objects.filter(
        due_on__gte=start, due_on__lte=end, allocated__lt=F("amount")
    ).exclude(charge__revenue__kind=Revenue.Kind.LATE_CHARGE)


def fee_revenues() -> list[tuple[str, str]]:
    """(code, name in the reader's language) of the revenues a procedure's fee may be collected
    under (手数料 and 使用料・利用料), for the form designer."""
    language = get_language()
    return [
        (revenue.code, revenue.name_for(language))
        for revenue in Revenue.objects.filter(
            kind__in=[Revenue.Kind.FEE, Revenue.Kind.CHARGE]
        ).order_by("slip_code")
    ]
