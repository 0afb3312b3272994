"""The demo bills seed step: several revenues per demo resident, some paid, some overdue; twice
is once."""

from __future__ import annotations

import io

import pytest
from factories_payments import make_resident

from cityhall.seeding import SeedContext
from payments import selectors
from payments.models import Charge, Payment
from payments.seed import demo_bills

pytestmark = pytest.mark.django_db


def test_seed_creates_bills_across_revenues_once():
    residents = [make_resident() for _ in range(3)]
    ctx = SeedContext(residents=0, parcels=0, stdout=io.StringIO())
    ctx.shared["demo_residents"] = {"a@example.jp": {"resident_id": residents[0].pk}}
    demo_bills(ctx)
    charges, payments = Charge.objects.count(), Payment.objects.count()
    demo_bills(ctx)
    assert (Charge.objects.count(), Payment.objects.count()) == (charges, payments)
    codes = set(Charge.objects.filter(payer=residents[0]).values_list("revenue__code", flat=True))
    assert codes == {"resident_tax", "fixed_asset_tax", "nhi", "water"}
    assert (
        Charge.objects.filter(payer=residents[0], revenue__code="resident_tax")
        .get()
        .installments.count()
        == 4
    )
    assert (
        Charge.objects.exclude(parcel_key="").filter(revenue__code="fixed_asset_tax").count() == 3
    )
    assert selectors.balance_for_resident(residents[0])["overdue_installments"] >= 1
    assert selectors.reconciliation_report()["ok"]
