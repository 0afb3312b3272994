from __future__ import annotations

import io

import pytest

from cityhall.seed import demo_accounts
from cityhall.seeding import SeedContext
from residents import services
from residents.models import Household, Movement, ResidencePeriod, Resident
from residents.seed import HEADLESS_HOUSEHOLDS, demo_residents

pytestmark = pytest.mark.django_db


def _context(count: int) -> SeedContext:
    return SeedContext(residents=count, parcels=0, stdout=io.StringIO())


def test_seed_creates_consistent_records_once_and_links_the_demo_accounts():
    ctx = _context(300)
    demo_accounts(ctx)
    demo_residents(ctx)
    assert Resident.objects.count() == 300
    assert ResidencePeriod.objects.count() == 300
    assert Movement.objects.count() == 300
    assert set(Movement.objects.values_list("kind", flat=True)) <= {"move_in", "birth"}
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(HEADLESS_HOUSEHOLDS)
        assert cursor.fetchone()[0] == 0
    sample = Resident.objects.order_by("?").first()
    assert len(services.decrypt_mynumber(sample)) == 12
    assert sample.search_kana and sample.household.address.label.startswith(
        sample.household.address.town
    )

    linked = ctx.shared["demo_residents"]
    first = Resident.objects.get(user__email="resident@demo.machiba.jp")
    second = Resident.objects.get(user__email="resident2@demo.machiba.jp")
    assert first.household_id != second.household_id
    assert first.is_head
    members = Resident.objects.filter(household=first.household)
    assert members.count() >= 3 and members.filter(relationship="子").exists()
    assert linked["resident@demo.machiba.jp"]["name"] == first.full_name

    again = _context(300)
    demo_residents(again)
    assert Resident.objects.count() == 300 and Household.objects.count() == len(
        set(Resident.objects.values_list("household_id", flat=True))
    )
    assert again.shared["demo_residents"] == linked
