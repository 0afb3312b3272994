"""当初賦課: the annual billing run, set-based from the assessment file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date

from django.db import connection

from cityhall.dates import next_business_day

from ..models import BatchRun, Revenue
from . import runs
from .runs import copy_rows, stage_once

ASSESSMENT_COLUMNS = (
    "assessment_key",
    "resident_code",
    "revenue_code",
    "fiscal_year",
    "amount",
    "parcel_key",
)


def parse_assessment_csv(data: bytes | Iterable[str]) -> Iterator[tuple]:
    """Assessment import: CSV with a header ``assessment_key,resident_code,revenue_code,
    fiscal_year,amount,parcel_key`` (parcel_key may be empty). Yields staged tuples, one line at
    a time: ``data`` is the file's bytes or its lines (an open text file), so a run reads a
    million-line file without holding it."""
    lines = io.StringIO(data.decode("utf-8-sig")) if isinstance(data, bytes) else data
    reader = csv.reader(lines)
    for line_no, fields in enumerate(reader, start=1):
        if line_no == 1 and fields and not fields[3].strip().isdigit():
            continue
        if not any(field.strip() for field in fields):
            continue
        if len(fields) < 5:
            raise ValueError(f"line {line_no}: {len(fields)} fields, expected 6")
        key, resident_code, revenue_code, fiscal_year, amount = (f.strip() for f in fields[:5])
        parcel = fields[5].strip() if len(fields) > 5 else ""
        if not fiscal_year.isdigit() or not amount.isdigit():
            raise ValueError(f"line {line_no}: fiscal_year and amount must be whole numbers")
        yield key, resident_code, revenue_code, int(fiscal_year), int(amount), parcel


def due_dates(revenue: Revenue, fiscal_year: int) -> list[date]:
    """The revenue's schedule for a fiscal year, moved off closed days. Months 1–3 fall in the
    next calendar year (the fiscal year runs April to March)."""
    out = []
    for month, day in revenue.schedule:
        year = fiscal_year if month >= 4 else fiscal_year + 1
        out.append(next_business_day(date(year, month, day)))
    return out


def stage_assessments(*, run: BatchRun) -> int:
    """COPY the run's assessment file into the staging table, streamed from the file: the
    lines are read, parsed and sent as COPY asks for them (a 1M-line file never sits in memory,
    as bytes, text or rows). Returns the number of staged lines."""
    with open(runs.input_path(run), encoding="utf-8-sig", newline="") as lines:
        rows = ((run.pk, line_no, *row) for line_no, row in enumerate(parse_assessment_csv(lines)))
        return copy_rows(
            "payments_assessment_staging", ("batch_run_id", "line_no", *ASSESSMENT_COLUMNS), rows
        )


@runs.runner(BatchRun.Kind.BILLING)
def _run_billing(run: BatchRun) -> None:
    run = stage_once(run, lambda: stage_assessments(run=run))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT revenue_code, fiscal_year FROM payments_assessment_staging "
            "WHERE batch_run_id = %s",
            [run.pk],
        )
        pairs = cursor.fetchall()
    revenues = Revenue.objects.in_bulk([code for code, _ in pairs], field_name="code")
    schedule = []
    for code, fiscal_year in pairs:
        revenue = revenues.get(code)
        if revenue is None or not revenue.schedule:
            continue
        dates = due_dates(revenue, fiscal_year)
        for number, due in enumerate(dates, start=1):
            schedule.append(
                {
                    "revenue_id": revenue.pk,
                    "fiscal_year": fiscal_year,
                    "number": number,
                    "n": len(dates),
                    "due_on": due.isoformat(),
                }
            )
    schedule_json = json.dumps(schedule)

    # Each line makes its own charge (ON CONFLICT on its origin): chunks are independent.
    @runs.independent_chunks
    def apply_chunk(run: BatchRun, start: int, end: int) -> dict:
        with connection.cursor() as cursor:
            cursor.execute(BILLING_UNMATCHED_SQL, [run.pk, run.pk, start, end, schedule_json])
            failed = cursor.rowcount
            cursor.execute(BILLING_SQL, [schedule_json, run.pk, start, end, schedule_json])
            created, amount = cursor.fetchone()
            cursor.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM payments_assessment_staging "
                "WHERE batch_run_id = %s AND line_no >= %s AND line_no < %s",
                [run.pk, start, end],
            )
            total_amount = cursor.fetchone()[0]
        return {
            "succeeded": created,
            "failed": failed,
            "skipped": (end - start) - created - failed,
            "amount_total": total_amount,
            "amount_succeeded": amount or 0,
        }

    runs.in_chunks(run, apply_chunk)


BILLING_UNMATCHED_SQL = """
INSERT INTO payments_unmatchedrecord (batch_run_id, line_no, reference, amount, reason, resolved)
SELECT %s, s.line_no, s.assessment_key, s.amount,
       CASE WHEN r.id IS NULL THEN 'no_resident'
            WHEN v.id IS NULL THEN 'no_revenue'
            ELSE 'no_schedule' END, false
  FROM payments_assessment_staging s
  LEFT JOIN residents_resident r ON r.resident_code = s.resident_code
  LEFT JOIN payments_revenue v ON v.code = s.revenue_code
 WHERE s.batch_run_id = %s AND s.line_no >= %s AND s.line_no < %s
   AND (r.id IS NULL OR v.id IS NULL OR NOT EXISTS (
        SELECT 1 FROM jsonb_to_recordset(%s::jsonb)
               AS d(revenue_id bigint, fiscal_year int, number int, n int, due_on date)
         WHERE d.revenue_id = v.id AND d.fiscal_year = s.fiscal_year))
ON CONFLICT (batch_run_id, line_no) DO NOTHING
"""

# One statement: new charges (ON CONFLICT on origin skips what an earlier attempt created), their
# installments split as services.split_installments does (the rest in the first), and an event
# per charge. The deferred trigger checks the sums at commit.
BILLING_SQL = """
WITH schedule AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb)
        AS d(revenue_id bigint, fiscal_year int, number int, n int, due_on date)
), src AS (
    SELECT s.*, r.id AS payer_id, v.id AS revenue_id
      FROM payments_assessment_staging s
      JOIN residents_resident r ON r.resident_code = s.resident_code
      JOIN payments_revenue v ON v.code = s.revenue_code
     WHERE s.batch_run_id = %s AND s.line_no >= %s AND s.line_no < %s
), new_charges AS (
    INSERT INTO payments_charge (payer_id, revenue_id, fiscal_year, amount, description,
                                 legal_basis, origin, parcel_key, created_at)
    SELECT payer_id, revenue_id, fiscal_year, amount, '', '地方税法・市税条例',
           'assessment:' || revenue_code || ':' || fiscal_year || ':' || assessment_key,
           parcel_key, now()
      FROM src
     WHERE EXISTS (SELECT 1 FROM schedule d WHERE d.revenue_id = src.revenue_id
                                             AND d.fiscal_year = src.fiscal_year)
    ON CONFLICT (origin) DO NOTHING
    RETURNING id, revenue_id, fiscal_year, amount
), new_installments AS (
    INSERT INTO payments_installment (charge_id, number, assessed_amount, amount, due_on, allocated)
    SELECT c.id, d.number, p.part, p.part, d.due_on, 0
      FROM new_charges c
      JOIN jsonb_to_recordset(%s::jsonb)
           AS d(revenue_id bigint, fiscal_year int, number int, n int, due_on date)
        ON d.revenue_id = c.revenue_id AND d.fiscal_year = c.fiscal_year
      CROSS JOIN LATERAL (
        SELECT CASE WHEN d.number = 1
                    THEN c.amount - (c.amount / d.n / 1000 * 1000) * (d.n - 1)
                    ELSE c.amount / d.n / 1000 * 1000 END AS part) p
    RETURNING 1
), events AS (
    INSERT INTO payments_ledgerevent (kind, charge_id, from_state, to_state, amount, reason,
                                      data, created_at)
    SELECT 'charge.created', id, '', 'open', amount, '当初賦課', '{}'::jsonb, now()
      FROM new_charges
    RETURNING 1
)
SELECT COUNT(*), SUM(amount) FROM new_charges
"""
