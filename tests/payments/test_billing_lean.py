"""What a billing run writes per charge, and what it holds in memory.

A billed charge is one charge row, its installments and one ledger event; every index entry
they add is work at insert time. The count below reads the index definitions from the catalogue
and counts, for each index of the charge and ledger tables, the billed rows it holds (a partial
index holds the rows its predicate accepts), so it measures the entries a run really adds.

Staging streams the assessment file into COPY: Python's peak allocation while staging a
file of several megabytes stays a small fraction of the file.
"""

from __future__ import annotations

import tracemalloc

import pytest
from django.db import connection
from factories_payments import assessment_csv, make_resident, quarterly_resident_tax

from payments import batches
from payments.batches import billing
from payments.models import BatchRun, Charge, LedgerEvent, UnmatchedRecord


def _index_entries(table: str, where: str) -> int:
    """Entries the indexes of ``table`` hold for the rows matching ``where``."""
    total = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass",
            [table],
        )
        predicates = [row[0] for row in cursor.fetchall()]
        assert predicates, table
        for predicate in predicates:
            condition = f"({where}) AND ({predicate})" if predicate else where
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {condition}")
            total += cursor.fetchone()[0]
    return total


@pytest.mark.django_db
def test_a_billed_charge_adds_eight_index_entries_to_charges_and_events_not_fourteen():
    quarterly_resident_tax()
    payers = [make_resident() for _ in range(3)]
    data = assessment_csv([(f"L{n}", p.resident_code, 120_000) for n, p in enumerate(payers)])
    run = batches.execute(batches.submit(kind="billing", data=data, queue=False).pk)
    assert (run.state, run.succeeded_count) == ("succeeded", 3)
    charges = list(
        Charge.objects.filter(origin__startswith="assessment:").values_list("pk", flat=True)
    )
    assert len(charges) == 3
    ids = ",".join(str(pk) for pk in charges)
    per_charge = (
        _index_entries("payments_charge", f"id IN ({ids})")
        + _index_entries("payments_ledgerevent", f"charge_id IN ({ids})")
    ) / len(charges)
    # Before: 8 on the charge (payer twice, parcel key twice) + 6 on its event (four of NULL).
    assert per_charge == 8


@pytest.mark.django_db
def test_an_events_lookup_by_charge_payment_or_installment_still_uses_an_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for column in ("charge_id", "installment_id", "payment_id", "refund_id", "actor_id"):
            cursor.execute(f"EXPLAIN SELECT id FROM payments_ledgerevent WHERE {column} = 42")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Index" in plan and "ledgerevent_" in plan, (column, plan)
        cursor.execute("EXPLAIN SELECT id FROM payments_charge WHERE payer_id = 42")
        assert "charge_payer_year" in "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN SELECT id FROM payments_charge WHERE parcel_key = '1-2'")
        assert "charge_parcel_key" in "\n".join(row[0] for row in cursor.fetchall())
    assert LedgerEvent.objects.filter(charge_id=42).count() == 0


@pytest.mark.django_db
def test_staging_streams_the_file_instead_of_holding_it():
    lines = 100_000
    data = assessment_csv([(f"K{n:07d}", f"8{n:010d}", 120_000 + n % 1000) for n in range(lines)])
    assert len(data) > 4_000_000
    run = batches.submit(kind="billing", data=data, queue=False)
    tracemalloc.start()
    try:
        staged = billing.stage_assessments(run=run)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert staged == lines
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(amount), max(line_no) FROM payments_assessment_staging "
            "WHERE batch_run_id = %s",
            [run.pk],
        )
        assert cursor.fetchone() == (
            lines,
            sum(120_000 + n % 1000 for n in range(lines)),
            lines - 1,
        )
    # Reading the file whole held its bytes, its text and every formatted row: over 3x the file.
    assert peak < len(data) / 4, (peak, len(data))


@pytest.mark.django_db
def test_values_with_tabs_and_backslashes_are_staged_as_written_and_a_bad_line_fails_the_run():
    quarterly_resident_tax()
    payer = make_resident()
    data = (
        "assessment_key,resident_code,revenue_code,fiscal_year,amount,parcel_key\n"
        f'"T\\1\tx",{payer.resident_code},resident_tax,2025,90000,"3-4\\5"\n'
    ).encode()
    run = batches.execute(batches.submit(kind="billing", data=data, queue=False).pk)
    assert (run.state, run.succeeded_count) == ("succeeded", 1)
    charge = Charge.objects.get(payer=payer)
    assert charge.origin == "assessment:resident_tax:2025:T\\1\tx"
    assert charge.parcel_key == "3-4\\5"

    bad = assessment_csv([("B1", payer.resident_code, 1000)]) + b"B2,x,resident_tax,2025,12.5,\n"
    run = batches.submit(kind="billing", data=bad, queue=False)
    with pytest.raises(ValueError, match="line 3: fiscal_year and amount must be whole numbers"):
        batches.execute(run.pk)
    run.refresh_from_db()
    assert run.state == BatchRun.State.FAILED
    assert "line 3" in run.error
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM payments_assessment_staging WHERE batch_run_id = %s", [run.pk]
        )
        assert cursor.fetchone()[0] == 0
    assert not UnmatchedRecord.objects.filter(batch_run=run).exists()
