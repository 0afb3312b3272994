"""The charge check at commit looks up an installment's adjustments (更正) only where one can exist.

An adjustment names an installment and is never edited, so an installment inserted in the
committing transaction can only have adjustments inserted in that same transaction: when the
transaction inserted none, the check at commit reads no adjustment for it (a billing chunk made
one ``payments_adjustment`` lookup per installment). Where the transaction did insert one, or the
installment is older, the rule "amount = assessed amount + adjustments" is checked as before.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from factories_payments import make_resident, revenue

pytestmark = pytest.mark.django_db(transaction=True)


def _bill(cursor, payer, tax, origin: str, parts: list[int]) -> list[int]:
    """A charge and its installments, inserted as the billing run inserts them (plain SQL in the
    transaction itself, no savepoint)."""
    cursor.execute(
        "INSERT INTO payments_charge (payer_id, revenue_id, fiscal_year, amount, description, "
        "legal_basis, origin, parcel_key, created_at) "
        "VALUES (%s, %s, 2025, %s, '', '', %s, '', now()) RETURNING id",
        [payer.pk, tax.pk, sum(parts), origin],
    )
    charge_id = cursor.fetchone()[0]
    ids = []
    for number, part in enumerate(parts, start=1):
        cursor.execute(
            "INSERT INTO payments_installment (charge_id, number, assessed_amount, amount, "
            "due_on, allocated) VALUES (%s, %s, %s, %s, DATE '2025-06-30' + %s, 0) RETURNING id",
            [charge_id, number, part, part, number * 31],
        )
        ids.append(cursor.fetchone()[0])
    return ids


def _adjustment_reads(cursor) -> int:
    cursor.execute(
        "SELECT COALESCE(idx_scan, 0) + seq_scan FROM pg_stat_xact_user_tables "
        "WHERE relname = 'payments_adjustment'"
    )
    return cursor.fetchone()[0]


def test_new_installments_without_adjustments_are_checked_without_reading_adjustments():
    payer, tax = make_resident(), revenue("resident_tax")
    with transaction.atomic(), connection.cursor() as cursor:
        _bill(cursor, payer, tax, "test:no-adjustment", [25_000] * 8)
        before = _adjustment_reads(cursor)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the check COMMIT would run
        assert _adjustment_reads(cursor) - before == 0


def test_an_adjustment_in_the_same_transaction_is_still_checked():
    payer, tax = make_resident(), revenue("resident_tax")
    with pytest.raises(IntegrityError, match="assessed amount plus its adjustments"):
        with transaction.atomic(), connection.cursor() as cursor:
            first, _ = _bill(cursor, payer, tax, "test:adjusted-wrong", [30_000, 30_000])
            # An adjustment whose installment's amount was not moved with it.
            cursor.execute(
                "INSERT INTO payments_adjustment (installment_id, delta, reason, created_at) "
                "VALUES (%s, 1000, '更正', now())",
                [first],
            )
    with transaction.atomic(), connection.cursor() as cursor:
        first, second = _bill(cursor, payer, tax, "test:adjusted-right", [30_000, 30_000])
        cursor.execute(
            "INSERT INTO payments_adjustment (installment_id, delta, reason, created_at) "
            "VALUES (%s, 1000, '更正', now()), (%s, -1000, '更正', now())",
            [first, second],
        )
        cursor.execute(
            "UPDATE payments_installment SET amount = amount + 1000 WHERE id = %s", [first]
        )
        cursor.execute(
            "UPDATE payments_installment SET amount = amount - 1000 WHERE id = %s", [second]
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payments_adjusting_transaction")
        assert cursor.fetchone()[0] == 0  # the note of each transaction goes with its check


def test_a_new_installment_off_its_assessment_fails_without_adjustments():
    payer, tax = make_resident(), revenue("resident_tax")
    with pytest.raises(IntegrityError, match="assessed amount plus its adjustments"):
        with transaction.atomic(), connection.cursor() as cursor:
            first, _ = _bill(cursor, payer, tax, "test:off", [30_000, 30_000])
            cursor.execute(
                "UPDATE payments_installment SET assessed_amount = 29000 WHERE id = %s", [first]
            )
