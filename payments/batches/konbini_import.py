"""コンビニ収納: the convenience-store result file (速報・確報・速報取消), set-based."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO

from django.db import connection, transaction
from django.utils.translation import gettext_noop

from .. import hooks, services
from ..formats import konbini
from ..models import BatchRun, Payment, UnmatchedRecord
from . import runs
from .runs import copy_rows, stage_once

KONBINI_STAGING_COLUMNS = (
    "batch_run_id",
    "line_no",
    "record_type",
    "paid_on",
    "barcode",
    "installment_key",
    "amount",
    "external_ref",
    "transfer_on",
)


def konbini_external_ref(record: konbini.KonbiniRecord) -> str:
    """One payment at one till: the same slip paid twice is two payments, the same line sent
    twice (or its 確報 after its 速報) is one."""
    clock = record.paid_time
    return (
        f"{record.barcode}:{_day_digits(record.paid_date)}{clock.hour:02d}{clock.minute:02d}:"
        f"{record.store_chain}{record.store_code}"
    )


@functools.lru_cache(maxsize=1024)
def _day_digits(day: date) -> str:
    # Cached: a file carries a few distinct dates, and strftime per line was a measurable part
    # of staging a million lines.
    return f"{day:%Y%m%d}"


def _konbini_rows(run: BatchRun, stream: BinaryIO) -> Iterator[tuple]:
    # Straight from the checked fields, no record object per line. The dates go to COPY as the
    # file's YYYYMMDD digits (PostgreSQL reads that form), and the reference is built from the
    # same digits konbini_external_ref formats from the parsed values (they were checked to be
    # a date and an HHMM time, so the two agree).
    run_id = run.pk
    for line_no, line in enumerate(konbini.iter_checked_lines(stream)):
        record_type, paid_date, paid_time, code = line[0], line[1], line[2], line[3]
        paid_digits = _day_digits(paid_date)
        transfer_date = line[11]
        yield (
            run_id,
            line_no,
            record_type,
            paid_digits,
            code,
            int(code[14:29]),
            int(line[7]),
            f"{code}:{paid_digits}{paid_time.hour:02d}{paid_time.minute:02d}:{line[8]}{line[10]}",
            None if transfer_date is None else _day_digits(transfer_date),
        )


def _stage_konbini(run: BatchRun) -> int:
    """Parse the stored file and COPY its lines into the staging table, streamed (the worker
    holds a piece of the file, never the whole file or a list of its records). Runs in
    :func:`runs.stage_once`'s transaction: a malformed line anywhere rolls back what was staged."""
    with runs.input_path(run).open("rb") as stream:
        return copy_rows(
            "payments_konbini_staging", KONBINI_STAGING_COLUMNS, _konbini_rows(run, stream)
        )


KONBINI_UNMATCHED_SQL = """
INSERT INTO payments_unmatchedrecord (batch_run_id, line_no, reference, amount, reason, resolved)
SELECT s.batch_run_id, s.line_no + 1, s.barcode, s.amount,
       CASE WHEN i.id IS NULL THEN 'no_installment' ELSE 'barcode_mismatch' END, false
  FROM payments_konbini_staging s
  LEFT JOIN payments_installment i ON i.id = s.installment_key
  LEFT JOIN payments_charge c ON c.id = i.charge_id
  LEFT JOIN payments_revenue v ON v.id = c.revenue_id
 WHERE s.batch_run_id = %s AND s.line_no >= %s AND s.line_no < %s
   AND s.record_type IN ('01', '02')
   AND (i.id IS NULL OR substr(s.barcode, 9, 2) <> v.slip_code
        OR substr(s.barcode, 11, 4)::int <> c.fiscal_year)
ON CONFLICT (batch_run_id, line_no) DO NOTHING
"""

# The lock order of payments.services: the chunk's charges, then its installments (the
# allocation trigger and the settle step then touch only rows this transaction holds).
KONBINI_LOCK_CHARGES_SQL = """
SELECT c.id FROM payments_charge c
 WHERE c.id IN (SELECT i.charge_id FROM payments_installment i
                 WHERE i.id IN (SELECT installment_key FROM payments_konbini_staging
                                 WHERE batch_run_id = %s AND line_no >= %s AND line_no < %s))
 ORDER BY c.id FOR UPDATE
"""

KONBINI_LOCK_SQL = """
SELECT i.id FROM payments_installment i
 WHERE i.id IN (SELECT installment_key FROM payments_konbini_staging
                 WHERE batch_run_id = %s AND line_no >= %s AND line_no < %s)
 ORDER BY i.id FOR UPDATE
"""

# Each payment is written once: inserted confirmed, its allocation (the rest of its installment,
# several slips for one installment applied in line order, as services._allocate does) and its
# credit computed in the same statement, with the allocation, credit and ledger event written
# beside it. The allocation trigger keeps the installment's running total and leaves the payment,
# which already carries its allocation (migration 0012). Lines already recorded (an earlier chunk
# or file, or an earlier line of this chunk with the same reference) are left out before the
# allocation is computed, so they take no money from the lines after them; ON CONFLICT stays as
# the last guard of the payments' unique reference.
KONBINI_PAYMENTS_SQL = """
WITH lines AS (
    SELECT DISTINCT ON (s.external_ref) s.line_no, s.external_ref, s.amount, s.paid_on,
           s.transfer_on, s.record_type, s.batch_run_id, i.id AS installment_id, c.payer_id
      FROM payments_konbini_staging s
      JOIN payments_installment i ON i.id = s.installment_key
      JOIN payments_charge c ON c.id = i.charge_id
      JOIN payments_revenue v ON v.id = c.revenue_id
     WHERE s.batch_run_id = %s AND s.line_no >= %s AND s.line_no < %s
       AND s.record_type IN ('01', '02') AND s.amount > 0
       AND substr(s.barcode, 9, 2) = v.slip_code AND substr(s.barcode, 11, 4)::int = c.fiscal_year
       AND NOT EXISTS (SELECT 1 FROM payments_payment p
                        WHERE p.channel = 'konbini' AND p.external_ref = s.external_ref)
     ORDER BY s.external_ref, s.line_no
), applied AS (
    SELECT l.*,
           GREATEST(0, LEAST(l.amount, (i.amount - i.allocated)
               - (SUM(l.amount) OVER (PARTITION BY i.id ORDER BY l.line_no) - l.amount))) AS part
      FROM lines l JOIN payments_installment i ON i.id = l.installment_id
), new_payments AS (
    INSERT INTO payments_payment (payer_id, channel, provider, external_ref, amount, paid_on,
                                  received_on, state, idempotency_key, request_digest, targets,
                                  provisional, allocated_amount, credit_amount, batch_run_id,
                                  created_at)
    SELECT payer_id, 'konbini', '', external_ref, amount, paid_on, transfer_on, 'confirmed',
           NULL, '', jsonb_build_array(installment_id), record_type = '01', part, amount - part,
           batch_run_id, now()
      FROM applied ORDER BY line_no
    ON CONFLICT (channel, external_ref) DO NOTHING
    RETURNING id, payer_id, amount, allocated_amount, credit_amount, provisional,
              (targets->>0)::bigint AS installment_id
), allocations AS (
    INSERT INTO payments_allocation (payment_id, installment_id, amount, credit_id, reverses_id,
                                     released_to_credit, created_at)
    SELECT id, installment_id, allocated_amount, NULL, NULL, false, now()
      FROM new_payments WHERE allocated_amount > 0
    RETURNING 1
), credits AS (
    INSERT INTO payments_credit (payment_id, resident_id, amount, used, created_at)
    SELECT id, payer_id, credit_amount, 0, now() FROM new_payments WHERE credit_amount > 0
    RETURNING 1
), events AS (
    INSERT INTO payments_ledgerevent (kind, payment_id, from_state, to_state, amount, reason,
                                      data, created_at)
    SELECT 'payment.confirmed', id, 'pending', 'confirmed', amount,
           CASE WHEN provisional THEN 'コンビニ速報' ELSE 'コンビニ確報' END, '{}'::jsonb, now()
      FROM new_payments
    RETURNING 1
)
SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM new_payments
"""

KONBINI_FINAL_SQL = """
WITH finalised AS (
    UPDATE payments_payment p SET provisional = false, received_on = s.transfer_on
      FROM payments_konbini_staging s
     WHERE s.batch_run_id = %s AND s.line_no >= %s AND s.line_no < %s AND s.record_type = '02'
       AND p.channel = 'konbini' AND p.external_ref = s.external_ref AND p.provisional
       AND p.state = 'confirmed'
    RETURNING p.id, p.amount
)
INSERT INTO payments_ledgerevent (kind, payment_id, from_state, to_state, amount, reason, data,
                                  created_at)
SELECT 'payment.finalised', id, 'confirmed', 'confirmed', amount, 'コンビニ確報', '{}'::jsonb, now()
  FROM finalised
"""

# The chunk's charges, each then reached through its primary key and its installments through
# the (charge, number) index (LATERAL: PostgreSQL cannot flatten an aggregate subquery), so a
# chunk costs the same on a ledger of a million charges as on an empty one. As a sub-plan in the
# WHERE clause, the planner filtered every open charge of the ledger through the per-charge sum
# before joining the chunk: each chunk summed the whole charges table, quadratic over a run.
SETTLE_SQL = """
WITH touched AS MATERIALIZED (
    SELECT DISTINCT i.charge_id FROM payments_installment i
     WHERE i.id IN (SELECT installment_key FROM payments_konbini_staging
                     WHERE batch_run_id = %s AND line_no >= %s AND line_no < %s)
), target AS (
    SELECT c.id FROM touched t
      JOIN payments_charge c ON c.id = t.charge_id
     CROSS JOIN LATERAL (SELECT bool_and(i.allocated >= i.amount) AS paid
                           FROM payments_installment i WHERE i.charge_id = c.id) x
     WHERE c.settled_at IS NULL AND x.paid
), settled AS (
    UPDATE payments_charge c SET settled_at = now() FROM target WHERE c.id = target.id
    RETURNING c.id
), events AS (
    INSERT INTO payments_ledgerevent (kind, charge_id, from_state, to_state, reason, data,
                                      created_at)
    SELECT 'charge.settled', id, 'open', 'settled', '', '{}'::jsonb, now() FROM target
    RETURNING 1
)
SELECT COUNT(*) FROM target
"""

# The settled hooks run once per charge, when it is paid by final money only (services.
# _update_settlement says why). Two steps, so that a file of 速報 (01) lines costs nothing here:
# the candidates are the chunk's settled, not yet notified charges, less those that one of the
# chunk's own 01 lines paid with a live 速報 (found through the payments' unique reference).
NOTIFY_CANDIDATES_SQL = """
WITH touched AS (
    SELECT DISTINCT i.charge_id FROM payments_installment i
     WHERE i.id IN (SELECT installment_key FROM payments_konbini_staging
                     WHERE batch_run_id = %s AND line_no >= %s AND line_no < %s)
), provisional_here AS (
    SELECT DISTINCT i.charge_id
      FROM payments_konbini_staging s
      JOIN payments_payment p ON p.channel = 'konbini' AND p.external_ref = s.external_ref
      JOIN payments_installment i ON i.id = s.installment_key
     WHERE s.batch_run_id = %s AND s.line_no >= %s AND s.line_no < %s AND s.record_type = '01'
       AND p.provisional AND p.state = 'confirmed' AND p.allocated_amount > 0
)
SELECT c.id, c.origin FROM payments_charge c JOIN touched t ON t.charge_id = c.id
 WHERE c.settled_at IS NOT NULL AND c.settlement_notified_at IS NULL
   AND c.id NOT IN (SELECT charge_id FROM provisional_here)
"""

# Of the remaining candidates, those still holding money of a live 速報 from another line or
# file (directly or as 充当 from its credit). Hash joins only (enable_nestloop off): on a chunk's
# fresh rows the planner's estimates are stale, and a nested loop here was quadratic.
PROVISIONAL_CHARGES_SQL = """
SELECT DISTINCT x.charge_id FROM (
    SELECT i.charge_id, a.payment_id, SUM(a.amount) AS applied
      FROM payments_allocation a
      JOIN payments_installment i ON i.id = a.installment_id
      JOIN payments_payment p ON p.id = a.payment_id
     WHERE i.charge_id = ANY(%s::bigint[]) AND p.provisional AND p.state = 'confirmed'
     GROUP BY i.charge_id, a.payment_id
) x WHERE x.applied > 0
"""


def _notify_final_settlements(cursor, args: list) -> None:
    cursor.execute(NOTIFY_CANDIDATES_SQL, args + args)
    candidates = dict(cursor.fetchall())
    if not candidates:
        return
    cursor.execute("SET LOCAL enable_nestloop = off")
    cursor.execute(PROVISIONAL_CHARGES_SQL, [list(candidates)])
    provisional = {row[0] for row in cursor.fetchall()}
    cursor.execute("SET LOCAL enable_nestloop TO DEFAULT")
    final = [charge_id for charge_id in candidates if charge_id not in provisional]
    cursor.execute(
        "UPDATE payments_charge SET settlement_notified_at = now() "
        "WHERE id = ANY(%s::bigint[]) AND settlement_notified_at IS NULL",
        [final],
    )
    for charge_id in final:
        origin = candidates[charge_id]
        if origin:
            transaction.on_commit(lambda o=origin, c=charge_id: hooks.run_settled(o, c))


@runs.runner(BatchRun.Kind.KONBINI_IMPORT)
def _run_konbini(run: BatchRun) -> None:
    run = stage_once(run, lambda: _stage_konbini(run))

    def apply_chunk(run: BatchRun, start: int, end: int) -> dict:
        args = [run.pk, start, end]
        with connection.cursor() as cursor:
            # A chunk's lines reach their installments, charges and payments by primary key or
            # unique reference: nested loops over the chunk. A hash or merge join reads the whole
            # table instead, once per chunk and statement, which made a run quadratic in the size
            # of the ledger (50,000 lines against a million installments, each time). The same
            # holds for the allocation trigger's statements, planned here on the first chunk.
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
            # No JIT: these statements walk a chunk by key, and the settle step's estimated cost
            # (a sum per touched charge) passed jit_above_cost, so every chunk compiled it afresh:
            # 1.3-1.6 s of LLVM inlining and optimisation per 50,000 lines against 2.7 s for the
            # statement itself (EXPLAIN ANALYZE, see bench/README.md).
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(KONBINI_LOCK_CHARGES_SQL, args)
            cursor.execute(KONBINI_LOCK_SQL, args)
            cursor.execute(KONBINI_UNMATCHED_SQL, args)
            unmatched = cursor.rowcount
            cursor.execute(KONBINI_PAYMENTS_SQL, args)
            created, created_amount = cursor.fetchone()
            cursor.execute(KONBINI_FINAL_SQL, args)
            cursor.execute("SET LOCAL enable_hashjoin TO DEFAULT")
            cursor.execute("SET LOCAL enable_mergejoin TO DEFAULT")
            cursor.execute(SETTLE_SQL, args)
            _notify_final_settlements(cursor, args)
            cursor.execute(
                "SELECT line_no, external_ref, amount FROM payments_konbini_staging "
                "WHERE batch_run_id = %s AND line_no >= %s AND line_no < %s "
                "AND record_type = '03'",
                args,
            )
            reversals = cursor.fetchall()
            cursor.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM payments_konbini_staging "
                "WHERE batch_run_id = %s AND line_no >= %s AND line_no < %s",
                args,
            )
            total_amount = cursor.fetchone()[0]
        reversed_count = _apply_konbini_reversals(run, reversals)
        return {
            "succeeded": created + reversed_count,
            "failed": unmatched,
            "skipped": (end - start) - created - reversed_count - unmatched,
            "amount_total": total_amount,
            "amount_succeeded": created_amount,
        }

    runs.in_chunks(run, apply_chunk)


def _apply_konbini_reversals(run: BatchRun, rows: list[tuple]) -> int:
    """速報取消 (03): take back a provisional payment; a reversal of nothing is listed."""
    done = 0
    for line_no, external_ref, amount in rows:
        payment = Payment.objects.filter(channel="konbini", external_ref=external_ref).first()
        if payment is None or (
            payment.state == Payment.State.CONFIRMED and not payment.provisional
        ):
            UnmatchedRecord.objects.get_or_create(
                batch_run=run,
                line_no=line_no + 1,
                defaults={
                    "reference": external_ref[:120],
                    "amount": amount,
                    "reason": UnmatchedRecord.Reason.NOTHING_TO_REVERSE,
                },
            )
            continue
        if payment.state == Payment.State.CANCELLED:
            continue
        services.cancel_payment(payment_id=payment.pk, reason=gettext_noop("コンビニ速報取消"))
        done += 1
    return done


def barcode_amount_mismatches(run: BatchRun) -> int:
    """Lines whose paid amount differs from the amount printed in the barcode (for clerks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM payments_konbini_staging WHERE batch_run_id = %s "
            "AND substr(barcode, 38, 6)::bigint <> amount",
            [run.pk],
        )
        return cursor.fetchone()[0]
