"""滞納整理: demand notices (督促状), reminders (催告書), late charges fixed, payment plans."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg2.extras import execute_values

from cityhall.dates import next_business_day
from cityhall.events import raise_event

from . import latecharge, selectors, services
from .models import (
    BatchRun,
    Installment,
    Notice,
    PaymentPlan,
    PlanEntry,
    Revenue,
)

# 地方税法329条1項: the demand notice goes out within 20 days after the due date.
DEMAND_WINDOW_DAYS = 20
NOTICE_CHUNK = 2_000


def demand_fee() -> int:
    """督促手数料 by ordinance (may be 0)."""
    return int(getattr(settings, "PAYMENTS_DEMAND_FEE", 0))


def reminder_interval_days() -> int:
    return int(getattr(settings, "PAYMENTS_REMINDER_INTERVAL_DAYS", 30))


def max_reminders() -> int:
    return int(getattr(settings, "PAYMENTS_MAX_REMINDERS", 3))


def issue_notices(run: BatchRun) -> None:
    """Issue demand notices for installments unpaid after their due date and reminders on the
    schedule after them, as of ``run.params["on_date"]`` (default: today). Each installment gets
    one demand notice ever and reminders numbered 1, 2, … up to :func:`max_reminders`, each one
    interval after the notice before it (unique keys): a run repeated the same day issues nothing
    twice, and only the notices actually inserted are sent to the resident. A notice issued more
    than 20 days after the due date (the job was down) is still issued and flagged
    ``within_statutory_window=False``."""
    as_of = date.fromisoformat(run.params.get("on_date") or timezone.localdate().isoformat())
    overdue = Installment.objects.filter(due_on__lt=as_of, allocated__lt=F("amount")).exclude(
        charge__revenue__kind=Revenue.Kind.LATE_CHARGE
    )
    need_demand = overdue.exclude(notices__kind=Notice.Kind.DEMAND).order_by("id")
    interval = timedelta(days=reminder_interval_days())
    # Subqueries, not a join filtered on the demand and then aggregated: that join would see
    # only the demand row, so the last notice would always be the demand and no reminder would
    # ever be counted.
    notices = Notice.objects.filter(installment=OuterRef("pk"))
    need_reminder = (
        overdue.filter(Exists(notices.filter(kind=Notice.Kind.DEMAND)))
        .annotate(
            last_notice=Subquery(notices.order_by("-issued_on").values("issued_on")[:1]),
            reminders=Coalesce(
                Subquery(
                    notices.filter(kind=Notice.Kind.REMINDER)
                    .order_by("-sequence")
                    .values("sequence")[:1]
                ),
                0,
            ),
        )
        .filter(last_notice__lte=as_of - interval, reminders__lt=max_reminders())
        .order_by("id")
    )
    total = need_demand.count() + need_reminder.count()
    BatchRun.objects.filter(pk=run.pk).update(total=total, processed=0)
    done = 0
    for queryset, kind in (
        (need_demand, Notice.Kind.DEMAND),
        (need_reminder, Notice.Kind.REMINDER),
    ):
        items = list(queryset.select_related("charge__revenue"))
        for start in range(0, len(items), NOTICE_CHUNK):
            chunk = items[start : start + NOTICE_CHUNK]
            with transaction.atomic():
                candidates = [
                    Notice(
                        installment=item,
                        kind=kind,
                        sequence=item.reminders + 1 if kind == Notice.Kind.REMINDER else 1,
                        issued_on=as_of,
                        outstanding=item.amount - item.allocated,
                        late_charge=selectors.late_charge_for(item, as_of) or 0,
                        fee=demand_fee() if kind == Notice.Kind.DEMAND else 0,
                        within_statutory_window=kind != Notice.Kind.DEMAND
                        or (as_of - item.due_on).days <= DEMAND_WINDOW_DAYS,
                        batch_run=run,
                    )
                    for item in chunk
                ]
                inserted = _insert_new(candidates)
                for notice in inserted:
                    # One message a notice: the notices app sends it on the channels the
                    # resident chose (inbox, e-mail, LINE), with the city's template.
                    raise_event("payments.demand_issued", **_demand_event(notice))
                done += len(chunk)
                BatchRun.objects.filter(pk=run.pk).update(
                    processed=done,
                    cursor=done,
                    succeeded_count=F("succeeded_count") + len(inserted),
                    skipped_count=F("skipped_count") + len(chunk) - len(inserted),
                    amount_total=F("amount_total") + sum(n.outstanding for n in inserted),
                )


NOTICE_COLUMNS = (
    "installment_id",
    "kind",
    "sequence",
    "issued_on",
    "outstanding",
    "late_charge",
    "fee",
    "within_statutory_window",
    "batch_run_id",
)


def _insert_new(notices: list[Notice]) -> list[Notice]:
    """Insert the notices, skipping any whose (installment, kind, sequence) exists already, and
    return exactly the ones inserted (``bulk_create(ignore_conflicts=True)`` cannot tell)."""
    if not notices:
        return []
    rows = [tuple(getattr(notice, column) for column in NOTICE_COLUMNS) for notice in notices]
    with connection.cursor() as cursor:
        inserted = execute_values(
            cursor.cursor,
            f"INSERT INTO payments_notice ({', '.join(NOTICE_COLUMNS)}) VALUES %s "
            "ON CONFLICT (installment_id, kind, sequence) DO NOTHING "
            "RETURNING id, installment_id, kind, sequence",
            rows,
            fetch=True,
        )
    by_key = {(n.installment_id, n.kind, n.sequence): n for n in notices}
    out = []
    for pk, installment_id, kind, sequence in inserted:
        notice = by_key[(installment_id, kind, sequence)]
        notice.pk = pk
        out.append(notice)
    return out


def _demand_event(notice: Notice) -> dict:
    """What notices needs to send a demand notice or reminder (督促状・催告書) for `notice`."""
    installment = notice.installment
    revenue = installment.charge.revenue
    demand = notice.kind == Notice.Kind.DEMAND
    return {
        "resident_id": installment.charge.payer_id,
        "dedupe_key": f"payments.notice:{installment.pk}:{notice.kind}:{notice.sequence}",
        "context": {
            "notice_kind": "督促状" if demand else "催告書",
            "notice_kind_en": "Demand notice" if demand else "Reminder",
            "revenue": revenue.name_ja,
            "revenue_en": revenue.name_en,
            "number": installment.number,
            "due_date": installment.due_on.isoformat(),
            "amount": notice.outstanding,
        },
    }


def fix_late_charges(run: BatchRun) -> None:
    """延滞金確定: for installments paid in full after the due date, bill the late charge as a
    charge of its own (origin ``latecharge:<installment id>``, so a repeated run bills nothing
    twice). The cursor is the last installment id handled."""
    revenue = Revenue.objects.filter(kind=Revenue.Kind.LATE_CHARGE).first()
    if revenue is None:
        raise ValidationError(_("延滞金の歳入科目がありません。"))
    candidates = (
        Installment.objects.filter(
            allocated=F("amount"),
            amount__gt=0,
            charge__revenue__bears_late_charge=True,
            pk__gt=run.cursor,
            allocations__payment__paid_on__gt=F("due_on"),
        )
        .distinct()
        .order_by("pk")
    )
    BatchRun.objects.filter(pk=run.pk).update(total=run.processed + candidates.count())
    today = timezone.localdate()
    for installment in candidates.select_related("charge__revenue", "charge__payer").iterator():
        with transaction.atomic():
            last_paid = max(d for d, _amount in selectors.payments_on(installment))
            amount = selectors.late_charge_for(installment, last_paid)
            if amount is None:
                # No rate for a year the late charge spans: fail the run loudly (it can be run
                # again once the rate is configured) rather than bill a guess.
                raise latecharge.MissingRate(
                    f"installment {installment.pk}: no late-charge rate for a year up to "
                    f"{last_paid}; set MACHIBA_LATE_CHARGE_RATES and run the batch again"
                )
            outcome = {"skipped_count": F("skipped_count") + 1}
            if amount:
                origin = f"latecharge:{installment.pk}"
                if not selectors.charge_for_origin(origin):
                    services.create_charge(
                        payer=installment.charge.payer,
                        revenue=revenue,
                        fiscal_year=installment.charge.fiscal_year,
                        installments=[(next_business_day(today + timedelta(days=30)), amount)],
                        description=f"{installment.charge.revenue.name_ja} 第{installment.number}期の延滞金",
                        legal_basis="地方税法326条・369条",
                        origin=origin,
                    )
                    outcome = {
                        "succeeded_count": F("succeeded_count") + 1,
                        "amount_total": F("amount_total") + amount,
                        "amount_succeeded": F("amount_succeeded") + amount,
                    }
            BatchRun.objects.filter(pk=run.pk).update(
                cursor=installment.pk, processed=F("processed") + 1, **outcome
            )


def create_payment_plan(
    *, resident, clerk, monthly_amount: int, first_due_on: date, note: str = ""
) -> PaymentPlan:
    """分納誓約: split the resident's arrears (principal and late charge today) into monthly
    amounts; the last month takes the remainder."""
    if not clerk.has_perm("payments.add_paymentplan"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    arrears = selectors.arrears_for_resident(resident)
    total = arrears["total"]
    if total <= 0:
        raise ValidationError(_("分納にする滞納額がありません。"))
    if monthly_amount <= 0:
        raise ValidationError({"monthly_amount": _("月額は1円以上にしてください。")})
    with transaction.atomic():
        plan = PaymentPlan.objects.create(
            resident=resident,
            total=total,
            monthly_amount=monthly_amount,
            first_due_on=first_due_on,
            note=note,
            clerk=clerk,
        )
        entries, left, number = [], total, 1
        due = first_due_on
        while left > 0:
            part = min(monthly_amount, left)
            entries.append(
                PlanEntry(plan=plan, number=number, due_on=next_business_day(due), amount=part)
            )
            left -= part
            number += 1
            month = due.month % 12 + 1
            year = due.year + (1 if month == 1 else 0)
            due = date(year, month, min(first_due_on.day, 28))
        PlanEntry.objects.bulk_create(entries)
        services.record_event(
            "payment_plan.created",
            amount=total,
            actor=clerk,
            data={"plan": plan.pk, "resident": resident.pk, "months": len(entries)},
        )
    return plan
