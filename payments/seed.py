"""Demo bills: the standard revenues, and for the demo residents (and the first households of
the city) charges across several revenues — resident tax in 4 installments, fixed-asset tax on a
parcel, NHI, water — some paid, some overdue. Idempotent: every charge has a ``seed:`` origin."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from cityhall.seeding import SeedContext, step
from residents.models import Resident

from . import services
from .batches import due_dates
from .models import Charge, Revenue
from .revenues import ensure_standard_revenues

OTHER_PAYERS = 40


def _payers(ctx: SeedContext) -> list[Resident]:
    ids = [info["resident_id"] for info in ctx.shared.get("demo_residents", {}).values()]
    demo = list(Resident.objects.filter(pk__in=ids).order_by("id"))
    others = list(
        Resident.objects.filter(status=Resident.Status.CURRENT, is_head=True)
        .exclude(pk__in=ids)
        .order_by("id")[:OTHER_PAYERS]
    )
    return demo + others


def _charge(payer, code: str, fiscal_year: int, amount: int, *, parcel_key: str = "", dates=None):
    origin = f"seed:{payer.pk}:{code}:{fiscal_year}"
    existing = Charge.objects.filter(origin=origin).first()
    if existing is not None:
        return existing, False
    revenue = Revenue.objects.get(code=code)
    dates = dates or due_dates(revenue, fiscal_year)
    parts = services.split_installments(amount, len(dates))
    charge = services.create_charge(
        payer=payer,
        revenue=revenue,
        fiscal_year=fiscal_year,
        installments=list(zip(dates, parts, strict=True)),
        description="デモデータ",
        legal_basis="地方税法・市条例",
        origin=origin,
        parcel_key=parcel_key,
    )
    return charge, True


def _pay_due_before(payer, cutoff: date, *, skip_last_overdue: bool) -> None:
    """Pay the installments due before ``cutoff`` on their due date, but leave the most recent
    one unpaid when asked (so the resident has something overdue)."""
    open_items = list(
        payer.charges.filter(installments__due_on__lt=cutoff)
        .values_list(
            "installments__pk",
            "installments__due_on",
            "installments__amount",
            "installments__allocated",
        )
        .order_by("installments__due_on")
    )
    if skip_last_overdue and open_items:
        open_items = open_items[:-1]
    for pk, due, amount, allocated in open_items:
        if allocated >= amount or amount == 0:
            continue
        payment = services.create_payment(
            payer=payer,
            channel="konbini",
            amount=amount - allocated,
            targets=[pk],
            external_ref=f"seed:{pk}",
        )
        services.confirm_payment(payment_id=payment.pk, paid_on=due, received_on=due)


@step(order=40)
def demo_bills(ctx: SeedContext) -> None:
    ensure_standard_revenues(Revenue)
    today = timezone.localdate()
    fiscal_year = services.fiscal_year_of(today)
    created = 0
    for index, payer in enumerate(_payers(ctx)):
        with transaction.atomic():
            rng = ctx.rng
            tax = rng.randrange(60, 400) * 1_000 + rng.randrange(0, 1000)
            parcel = (payer.household.address.parcel_key if payer.household_id else "") or (
                f"demo-{payer.pk}"
            )
            items = [
                _charge(payer, "resident_tax", fiscal_year, tax),
                _charge(
                    payer,
                    "fixed_asset_tax",
                    fiscal_year,
                    rng.randrange(40, 200) * 1_000,
                    parcel_key=parcel,
                ),
                _charge(payer, "nhi", fiscal_year, rng.randrange(100, 400) * 1_000),
                _charge(
                    payer,
                    "water",
                    fiscal_year,
                    rng.randrange(3, 9) * 1_000,
                    dates=[today - timedelta(days=45), today + timedelta(days=15)],
                ),
            ]
            created += sum(1 for _charge_row, new in items if new)
            if any(new for _charge_row, new in items):
                # Most pay on time; every third leaves the latest overdue installment unpaid.
                _pay_due_before(payer, today, skip_last_overdue=index % 3 == 0)
    ctx.say(f"payments: {created} demo charges created")
