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


def _structures() -> set:
    """Every index, constraint and trigger of the tables the seed fills, as PostgreSQL states
    them."""
    from django.db import connection

    from residents.seed import BULK_TABLES

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
              FROM pg_index WHERE indrelid = ANY(%(t)s::regclass[])
            UNION ALL
            SELECT 'constraint', conname, pg_get_constraintdef(oid)
              FROM pg_constraint WHERE conrelid = ANY(%(t)s::regclass[])
            UNION ALL
            SELECT 'trigger', tgname, tgenabled::text
              FROM pg_trigger WHERE tgrelid = ANY(%(t)s::regclass[]) AND NOT tgisinternal
            """,
            {"t": list(BULK_TABLES)},
        )
        return set(cursor.fetchall())


def test_a_large_seed_is_written_chunk_by_chunk_and_keeps_every_index_and_constraint(
    monkeypatch,
):
    from django.db import IntegrityError, connection, transaction

    from residents import seed

    before = _structures()
    assert any(kind == "constraint" and "FOREIGN KEY" in text for kind, _n, text in before)
    households_per_copy = []
    real_copy = seed._copy_lines

    def counting_copy(table, columns, lines):
        if table == "residents_household":
            households_per_copy.append(len(lines))
        real_copy(table, columns, lines)

    monkeypatch.setattr(seed, "CHUNK_HOUSEHOLDS", 40)
    monkeypatch.setattr(seed, "_copy_lines", counting_copy)
    assert seed.create_demo_residents(_context(500), 500) == 500
    # A million residents are never one COPY held in memory: at most a chunk of households.
    assert len(households_per_copy) > 3 and max(households_per_copy) == 40
    assert _structures() == before
    # The constraints built again at the end still hold: unique codes, foreign keys.
    first, second = Resident.objects.order_by("id")[:2]
    with pytest.raises(IntegrityError), transaction.atomic():
        Resident.objects.filter(pk=second.pk).update(resident_code=first.resident_code)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidencePeriod.objects.filter(resident=first).update(address_id=first.pk + 10**9)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
