"""Batch jobs as real jobs: a ``BatchRun`` row holds state, counts, money totals and a cursor.

A run goes: submit (the input is saved under PRIVATE_STORAGE_ROOT, the run row is created once per
input digest) → stage (the file is parsed and ``COPY``-ed into an unlogged staging table, in one
transaction with the run's ``staged`` flag) → chunks (each chunk of staged lines is applied by
set-based ``INSERT … SELECT … ON CONFLICT`` in one transaction together with the run's cursor and
counters). A worker that dies mid-run leaves the run ``running`` with its cursor; running it again
continues from the cursor, and the ``ON CONFLICT`` keys make a repeated chunk change nothing.

Importing the same file twice finds the first run (same digest) and changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from cityhall.dates import next_business_day

from . import hooks
from .formats import konbini
from .models import BatchRun, Payment, Revenue, UnmatchedRecord

CHUNK = 50_000


def _storage_dir() -> Path:
    path = Path(settings.PRIVATE_STORAGE_ROOT) / "payments" / "batches"
    path.mkdir(parents=True, exist_ok=True)
    return path


def input_path(run: BatchRun) -> Path:
    return _storage_dir() / f"{run.kind}-{run.input_digest}"


def submit(
    *, kind: str, data: bytes = b"", params: dict | None = None, actor=None, queue: bool = True
) -> BatchRun:
    """Create (or find) the run for this input and queue it. Same input → same run."""
    params = params or {}
    if actor is not None and not actor.has_perm("payments.add_batchrun"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    if kind not in BatchRun.Kind.values:
        raise ValidationError({"kind": f"不明なバッチ / unknown batch kind {kind!r}"})
    digest = hashlib.sha256(
        data + json.dumps(params, sort_keys=True).encode()
        if data
        else json.dumps({"kind": kind, **params}, sort_keys=True).encode()
    ).hexdigest()
    with transaction.atomic():
        run, created = BatchRun.objects.get_or_create(
            kind=kind,
            input_digest=digest,
            defaults={"params": params, "created_by": actor},
        )
        if created and data:
            input_path(run).write_bytes(data)
        if created and queue:
            from .tasks import run_batch

            transaction.on_commit(lambda: run_batch.delay(run.pk))
    return run


# A run being executed holds a session-level advisory lock on its id. When the worker dies
# (kill -9, lost machine) PostgreSQL ends its session and the lock goes with it, so "not
# locked and not finished" means "nobody is working on this run" — a fact the broker cannot
# give us, since Redis hands an unacknowledged message back only after the visibility timeout.
RUN_LOCK_CLASS = 72_001  # first key of the two-key advisory lock: "payments batch run"


def _try_lock(run_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RUN_LOCK_CLASS, run_id])
        return bool(cursor.fetchone()[0])


def _unlock(run_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCK_CLASS, run_id])


def execute(run_id: int) -> BatchRun:
    """Run (or resume) a batch; a finished run is returned as it is, and a run another worker
    is executing right now is left to it."""
    run = BatchRun.objects.defer("output").get(pk=run_id)
    if run.state in (BatchRun.State.SUCCEEDED, BatchRun.State.FAILED):
        return run
    if not _try_lock(run.pk):
        return run
    try:
        BatchRun.objects.filter(pk=run.pk).update(
            state=BatchRun.State.RUNNING, started_at=run.started_at or timezone.now()
        )
        try:
            RUNNERS[run.kind](run)
        except Exception as error:
            BatchRun.objects.filter(pk=run.pk).update(
                state=BatchRun.State.FAILED,
                error=f"{type(error).__name__}: {error}"[:4000],
                finished_at=timezone.now(),
            )
            raise
        BatchRun.objects.filter(pk=run.pk).update(
            state=BatchRun.State.SUCCEEDED, finished_at=timezone.now()
        )
        _refresh_statistics()
    finally:
        _unlock(run.pk)
    run.refresh_from_db()
    return run


# The tables a batch run fills in bulk. Their planner statistics are refreshed when a run ends:
# autovacuum may have sampled them in between, e.g. just after a killed run rolled back, and
# then records "0 rows in N pages" -- a density of zero that makes every later plan assume an
# empty table (a nested loop over 80,000 installments per charge took minutes in CI).
BULK_TABLES = (
    "payments_charge",
    "payments_installment",
    "payments_ledgerevent",
    "payments_payment",
    "payments_allocation",
    "payments_credit",
)


def _refresh_statistics() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(BULK_TABLES)}")


def orphaned_runs(*, pending_for: timedelta = timedelta(minutes=10)) -> list[int]:
    """Runs nobody is executing: running ones whose worker is gone (no advisory lock), and
    pending ones whose message has waited longer than `pending_for`."""
    cutoff = timezone.now() - pending_for
    candidates = BatchRun.objects.filter(
        Q(state=BatchRun.State.RUNNING) | Q(state=BatchRun.State.PENDING, created_at__lt=cutoff)
    ).values_list("pk", flat=True)
    orphans = []
    for run_id in candidates:
        if _try_lock(run_id):
            _unlock(run_id)
            orphans.append(run_id)
    return orphans


def resume_orphaned_runs(*, pending_for: timedelta = timedelta(minutes=10)) -> list[int]:
    """Beat job: queue every orphaned run again; it continues from its cursor."""
    from .tasks import run_batch

    orphans = orphaned_runs(pending_for=pending_for)
    for run_id in orphans:
        run_batch.delay(run_id)
    return orphans


def _copy(table: str, columns: Iterable[str], rows: Iterable[tuple]) -> None:
    """COPY rows into a table (tab-separated text; our values never contain tabs)."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def _stage_once(run: BatchRun, stage: Callable[[], int]) -> BatchRun:
    """Stage the input in one transaction with the run's ``staged`` flag (so a crash before the
    commit leaves nothing staged, and after it nothing is staged twice)."""
    with transaction.atomic():
        run = BatchRun.objects.select_for_update().defer("output").get(pk=run.pk)
        if not run.params.get("staged"):
            total = stage()
            run.params = {**run.params, "staged": True}
            run.total = total
            run.save(update_fields=["params", "total"])
    return run


def _chunks(run: BatchRun, apply_chunk: Callable[[BatchRun, int, int], dict]) -> None:
    """Apply [cursor, cursor + CHUNK) line by line range until the end, each in a transaction."""
    while True:
        with transaction.atomic():
            run = BatchRun.objects.select_for_update().defer("output").get(pk=run.pk)
            if run.cursor >= run.total:
                return
            start, end = run.cursor, min(run.cursor + CHUNK, run.total)
            counts = apply_chunk(run, start, end)
            BatchRun.objects.filter(pk=run.pk).update(
                cursor=end,
                processed=end,
                succeeded_count=F("succeeded_count") + counts.get("succeeded", 0),
                failed_count=F("failed_count") + counts.get("failed", 0),
                skipped_count=F("skipped_count") + counts.get("skipped", 0),
                amount_total=F("amount_total") + counts.get("amount_total", 0),
                amount_succeeded=F("amount_succeeded") + counts.get("amount_succeeded", 0),
            )


# --- annual billing run (当初賦課) ----------------------------------------------------------------

ASSESSMENT_COLUMNS = (
    "assessment_key",
    "resident_code",
    "revenue_code",
    "fiscal_year",
    "amount",
    "parcel_key",
)


def parse_assessment_csv(data: bytes) -> Iterable[tuple]:
    """Assessment import: CSV with a header ``assessment_key,resident_code,revenue_code,
    fiscal_year,amount,parcel_key`` (parcel_key may be empty). Yields staged tuples."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
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


def _run_billing(run: BatchRun) -> None:
    def stage() -> int:
        data = input_path(run).read_bytes()
        rows = ((run.pk, line_no, *row) for line_no, row in enumerate(parse_assessment_csv(data)))
        counter = _Counter(rows)
        _copy(
            "payments_assessment_staging", ("batch_run_id", "line_no", *ASSESSMENT_COLUMNS), counter
        )
        return counter.count

    run = _stage_once(run, stage)
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

    _chunks(run, apply_chunk)


class _Counter:
    def __init__(self, rows: Iterable[tuple]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


BILLING_UNMATCHED_SQL = """
INSERT INTO payments_unmatchedrecord (batch_run_id, line_no, reference, amount, reason, resolved)
SELECT %s, s.line_no, s.assessment_key, s.amount,
       CASE WHEN r.id IS NULL THEN '住民が見つからない / no such resident'
            WHEN v.id IS NULL THEN '歳入科目が見つからない / no such revenue'
            ELSE '納期の設定がない / the revenue has no schedule' END, false
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


# --- convenience-store result file (コンビニ収納 速報・確報) ---------------------------------------

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
    return (
        f"{record.barcode}:{record.paid_date:%Y%m%d}{record.paid_time:%H%M}:"
        f"{record.store_chain}{record.store_code}"
    )


def _konbini_rows(run: BatchRun, data: bytes) -> Iterable[tuple]:
    for line_no, record in enumerate(konbini.parse_result_csv(data)):
        yield (
            run.pk,
            line_no,
            record.record_type,
            record.paid_date.isoformat(),
            record.barcode,
            int(record.barcode[14:29]),
            record.amount,
            konbini_external_ref(record),
            record.transfer_date.isoformat() if record.transfer_date else None,
        )


KONBINI_UNMATCHED_SQL = """
INSERT INTO payments_unmatchedrecord (batch_run_id, line_no, reference, amount, reason, resolved)
SELECT s.batch_run_id, s.line_no + 1, s.barcode, s.amount,
       CASE WHEN i.id IS NULL THEN '期別が見つからない / no such installment'
            ELSE 'バーコードの科目・年度が期別と異なる / barcode does not match the installment'
       END, false
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

KONBINI_LOCK_SQL = """
SELECT i.id FROM payments_installment i
 WHERE i.id IN (SELECT installment_key FROM payments_konbini_staging
                 WHERE batch_run_id = %s AND line_no >= %s AND line_no < %s)
 ORDER BY i.id FOR UPDATE
"""

KONBINI_PAYMENTS_SQL = """
INSERT INTO payments_payment (payer_id, channel, provider, external_ref, amount, paid_on,
                              received_on, state, idempotency_key, request_digest, targets,
                              provisional, allocated_amount, credit_amount, batch_run_id,
                              created_at)
SELECT c.payer_id, 'konbini', '', s.external_ref, s.amount, s.paid_on, s.transfer_on, 'pending',
       NULL, '', jsonb_build_array(i.id), s.record_type = '01', 0, 0, s.batch_run_id, now()
  FROM payments_konbini_staging s
  JOIN payments_installment i ON i.id = s.installment_key
  JOIN payments_charge c ON c.id = i.charge_id
  JOIN payments_revenue v ON v.id = c.revenue_id
 WHERE s.batch_run_id = %s AND s.line_no >= %s AND s.line_no < %s
   AND s.record_type IN ('01', '02') AND s.amount > 0
   AND substr(s.barcode, 9, 2) = v.slip_code AND substr(s.barcode, 11, 4)::int = c.fiscal_year
 ORDER BY s.line_no
ON CONFLICT (channel, external_ref) DO NOTHING
RETURNING id
"""

# The chunk's new payments are named by the ids their INSERT returned, not searched for as "this
# run's pending payments": a partial index for that search kept the dead entries of every earlier
# chunk's payments (pending until confirmed), so each chunk cost more than the one before.
# Several payments on one installment in the same chunk are applied in order of id.
KONBINI_ALLOCATE_SQL = """
INSERT INTO payments_allocation (payment_id, installment_id, amount, credit_id, reverses_id,
                                 released_to_credit, created_at)
SELECT id, installment_id, applied, NULL, NULL, false, now() FROM (
    SELECT p.id, i.id AS installment_id,
           GREATEST(0, LEAST(p.amount, (i.amount - i.allocated)
               - (SUM(p.amount) OVER (PARTITION BY i.id ORDER BY p.id) - p.amount))) AS applied
      FROM payments_payment p
      JOIN payments_installment i ON i.id = (p.targets->>0)::bigint
     WHERE p.id = ANY(%s::bigint[]) AND p.state = 'pending'
) x WHERE applied > 0
"""

KONBINI_CONFIRM_SQL = """
WITH credits AS (
    INSERT INTO payments_credit (payment_id, resident_id, amount, used, created_at)
    SELECT id, payer_id, amount - allocated_amount, 0, now() FROM payments_payment
     WHERE id = ANY(%s::bigint[]) AND state = 'pending' AND amount > allocated_amount
    RETURNING payment_id
), confirmed AS (
    UPDATE payments_payment SET state = 'confirmed', credit_amount = amount - allocated_amount
     WHERE id = ANY(%s::bigint[]) AND state = 'pending'
    RETURNING id, amount, provisional
), events AS (
    INSERT INTO payments_ledgerevent (kind, payment_id, from_state, to_state, amount, reason,
                                      data, created_at)
    SELECT 'payment.confirmed', id, 'pending', 'confirmed', amount,
           CASE WHEN provisional THEN 'コンビニ速報' ELSE 'コンビニ確報' END, '{}'::jsonb, now()
      FROM confirmed
    RETURNING 1
)
SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM confirmed
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

SETTLE_SQL = """
WITH touched AS (
    SELECT DISTINCT i.charge_id FROM payments_installment i
     WHERE i.id IN (SELECT installment_key FROM payments_konbini_staging
                     WHERE batch_run_id = %s AND line_no >= %s AND line_no < %s)
), target AS (
    SELECT c.id, c.origin, c.settlement_notified_at IS NULL AS first_time
      FROM payments_charge c JOIN touched t ON t.charge_id = c.id
     WHERE c.settled_at IS NULL
       -- Every installment of the charge paid, read through the (charge, number) index. Not
       -- "NOT EXISTS (… allocated < amount)": that matches the partial index of open
       -- installments, which the planner scanned once per charge on a large ledger (236 s of
       -- a 1,000,000-record import).
       AND (SELECT bool_and(i.allocated >= i.amount) FROM payments_installment i
             WHERE i.charge_id = c.id)
), settled AS (
    UPDATE payments_charge c
       SET settled_at = now(), settlement_notified_at = COALESCE(c.settlement_notified_at, now())
      FROM target WHERE c.id = target.id
    RETURNING c.id
), events AS (
    INSERT INTO payments_ledgerevent (kind, charge_id, from_state, to_state, reason, data,
                                      created_at)
    SELECT 'charge.settled', id, 'open', 'settled', '', '{}'::jsonb, now() FROM target
    RETURNING 1
)
SELECT id, origin FROM target WHERE first_time AND origin IS NOT NULL
"""


def _run_konbini(run: BatchRun) -> None:
    def stage() -> int:
        counter = _Counter(_konbini_rows(run, input_path(run).read_bytes()))
        _copy("payments_konbini_staging", KONBINI_STAGING_COLUMNS, counter)
        return counter.count

    run = _stage_once(run, stage)

    def apply_chunk(run: BatchRun, start: int, end: int) -> dict:
        args = [run.pk, start, end]
        with connection.cursor() as cursor:
            cursor.execute(KONBINI_LOCK_SQL, args)
            cursor.execute(KONBINI_UNMATCHED_SQL, args)
            unmatched = cursor.rowcount
            cursor.execute(KONBINI_PAYMENTS_SQL, args)
            new_ids = [row[0] for row in cursor.fetchall()]
            cursor.execute(KONBINI_ALLOCATE_SQL, [new_ids])
            cursor.execute(KONBINI_CONFIRM_SQL, [new_ids, new_ids])
            created, created_amount = cursor.fetchone()
            cursor.execute(KONBINI_FINAL_SQL, args)
            cursor.execute(SETTLE_SQL, args)
            for charge_id, origin in cursor.fetchall():
                transaction.on_commit(lambda o=origin, c=charge_id: hooks.run_settled(o, c))
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

    _chunks(run, apply_chunk)


def _apply_konbini_reversals(run: BatchRun, rows: list[tuple]) -> int:
    """速報取消 (03): take back a provisional payment; a reversal of nothing is listed."""
    from . import services

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
                    "reason": "取消対象の速報がない（または確報済み） / nothing provisional to reverse",
                },
            )
            continue
        if payment.state == Payment.State.CANCELLED:
            continue
        services.cancel_payment(payment_id=payment.pk, reason="コンビニ速報取消")
        done += 1
    return done


def _run_zengin_request(run: BatchRun) -> None:
    from . import direct_debit

    direct_debit.generate_request(run)


def _run_zengin_result(run: BatchRun) -> None:
    from . import direct_debit

    direct_debit.import_result(run, input_path(run).read_bytes())


def _run_late_charges(run: BatchRun) -> None:
    from . import arrears

    arrears.fix_late_charges(run)


def _run_arrears(run: BatchRun) -> None:
    from . import arrears

    arrears.issue_notices(run)


RUNNERS: dict[str, Callable[[BatchRun], None]] = {
    BatchRun.Kind.BILLING: _run_billing,
    BatchRun.Kind.KONBINI_IMPORT: _run_konbini,
    BatchRun.Kind.ZENGIN_REQUEST: _run_zengin_request,
    BatchRun.Kind.ZENGIN_RESULT: _run_zengin_result,
    BatchRun.Kind.LATE_CHARGE: _run_late_charges,
    BatchRun.Kind.ARREARS: _run_arrears,
}


def barcode_amount_mismatches(run: BatchRun) -> int:
    """Lines whose paid amount differs from the amount printed in the barcode (for clerks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM payments_konbini_staging WHERE batch_run_id = %s "
            "AND substr(barcode, 38, 6)::bigint <> amount",
            [run.pk],
        )
        return cursor.fetchone()[0]
