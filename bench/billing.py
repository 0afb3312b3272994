"""Billing and collection at city scale: the annual billing run and a convenience-store import.

    .venv/bin/python bench/billing.py [--scale 1000000 | --curve 100000,300000,1000000]

``--scale`` is the number of installments (resident tax, 4 per charge, so scale / 4 payers and
charges); without it the script measures the curve 100k / 300k / 1M, each scale in a fresh
database, and prints the seconds per 100,000 of each run (``billing.*_seconds_per_100k``), which
stay flat when a run is linear. Prints, each next to a raw ``COPY`` of the same rows into an
unindexed table:

* ``billing.run_installments_per_second`` — assessment CSV → staged (COPY) → charges,
  installments and events (INSERT … SELECT … ON CONFLICT, deferred sum checks at commit);
* ``billing.konbini_import_records_per_second`` — a result file of one 速報 per installment →
  parsed, staged, payments, allocations and events, invariants held by the triggers.

One run each (no warm-up): these are batch jobs, run once a year or once a day. Each batch
figure carries the peak memory of the run, sampled every 20 ms while it runs:
``worker_peak_rss_mb`` (this process, which is what a Celery worker executing the run holds) and
``backend_peak_rss_mb`` / ``backend_peak_private_mb`` (the largest of its PostgreSQL backends:
the resident set counts the shared_buffers pages it touched, the private part is its own memory,
RssAnon), with ``worker_cpu_seconds`` and ``backends_cpu_seconds`` (CPU time of this process and
of every backend of the bench database during the run; the billing run applies its chunks on
``parallel_chunks`` connections, so its ``statements_seconds`` counts only the main connection's).
"""

from __future__ import annotations

import argparse
import io
import os
import threading
import time
from datetime import date
from datetime import time as clock

from _common import bench_database, emit, proc_cpu_ticks, proc_status_kb


def _timed(label: str, func):
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


def _database_backends(database: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected to ``database`` (their process title names it):
    a run may apply its chunks on several connections."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                title = cmdline.read(200)
        except OSError:
            continue
        if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
            pids.append(int(entry))
    return pids


class PeakMemory:
    """Peak RSS of this process and of its database backends while the block runs, and the CPU
    time both spent in it (a figure the machine's load moves far less than the wall clock)."""

    def __init__(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), current_database()")
            self.backend, self.database = cursor.fetchone()
        self.peaks = {"worker": 0, "backend": 0, "backend_private": 0}
        self.backend_ticks: dict[int, int] = {}
        self._stop = threading.Event()

    def _sample(self) -> None:
        rounds = 0
        backends = [self.backend]
        while True:
            if rounds % 10 == 0:  # new connections appear when the run starts its chunks
                backends = sorted(set(backends) | set(_database_backends(self.database)))
            rounds += 1
            self.peaks["worker"] = max(self.peaks["worker"], proc_status_kb("self", "VmRSS"))
            for pid in backends:
                for key, field in (("backend", "VmRSS"), ("backend_private", "RssAnon")):
                    self.peaks[key] = max(self.peaks[key], proc_status_kb(pid, field))
                ticks = proc_cpu_ticks(pid)
                if ticks:
                    self.backend_ticks[pid] = ticks
            if self._stop.wait(0.02):
                return

    def __enter__(self) -> PeakMemory:
        self._worker_cpu = time.process_time()
        self._backend_start = proc_cpu_ticks(self.backend)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._worker_cpu = time.process_time() - self._worker_cpu

    def figures(self) -> dict:
        hz = os.sysconf("SC_CLK_TCK")
        ticks = sum(self.backend_ticks.values()) - self._backend_start
        return {
            "worker_peak_rss_mb": round(self.peaks["worker"] / 1024),
            "backend_peak_rss_mb": round(self.peaks["backend"] / 1024),
            "backend_peak_private_mb": round(self.peaks["backend_private"] / 1024),
            "backends": len(self.backend_ticks),
            "worker_cpu_seconds": round(self._worker_cpu, 2),
            "backends_cpu_seconds": round(ticks / hz, 2),
        }


class ChunkPhases:
    """Where a billing run's wall time goes, from the statements of the connections its chunks
    open (each gets a timing wrapper as it connects): ``staging_seconds`` until the first chunk
    statement (parse and COPY, serial), ``chunks_seconds`` from there to the end of the last
    chunk's deferred checks, ``after_chunks_seconds`` the rest (ANALYZE, the run row); and,
    summed over the chunk connections, ``chunk_statements_seconds`` (charges, installments,
    events, unmatched lines) and ``chunk_checks_seconds`` (the deferred foreign-key and
    charge-sum checks, run by ``SET CONSTRAINTS ALL IMMEDIATE``)."""

    CHUNK_STATEMENTS = ("WITH schedule", "INSERT INTO payments_unmatchedrecord")
    CHECKS = "SET CONSTRAINTS ALL IMMEDIATE"

    def __init__(self) -> None:
        self.started = 0.0
        self.first_chunk: float | None = None
        self.last_check = 0.0
        self.statements = 0.0
        self.checks = 0.0
        self._lock = threading.Lock()

    def connected(self, sender, connection, **kwargs) -> None:
        connection.execute_wrappers.append(self._timed)

    def _timed(self, execute, sql, params, many, context):
        begun = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ended = time.perf_counter()
            text = sql.lstrip()
            with self._lock:
                if text.startswith(self.CHUNK_STATEMENTS):
                    self.statements += ended - begun
                    if self.first_chunk is None or begun < self.first_chunk:
                        self.first_chunk = begun
                elif text.startswith(self.CHECKS):
                    self.checks += ended - begun
                    self.last_check = max(self.last_check, ended)

    def figures(self, ended: float) -> dict:
        if self.first_chunk is None:  # one chunk on the caller's connection: no split
            return {}
        return {
            "staging_seconds": round(self.first_chunk - self.started, 2),
            "chunks_seconds": round(self.last_check - self.first_chunk, 2),
            "after_chunks_seconds": round(ended - self.last_check, 2),
            "chunk_statements_seconds": round(self.statements, 2),
            "chunk_checks_seconds": round(self.checks, 2),
        }


def _raw_copy(table_sql: str, table: str, rows: bytes) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(table_sql)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} FROM STDIN", io.BytesIO(rows))
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, help="installments (one run)")
    parser.add_argument(
        "--curve", default="100000,300000,1000000", help="installments of each run, comma-separated"
    )
    parser.add_argument(
        "--billing-only", action="store_true", help="the billing run alone (no konbini import)"
    )
    args = parser.parse_args()
    scales = [args.scale] if args.scale else [int(n) for n in args.curve.split(",")]
    curve = []
    for scale in scales:
        curve.append(measure(scale, konbini_import=not args.billing_only))
    if len(curve) > 1:
        for key in ("billing", "konbini"):
            for scale, seconds in curve:
                if key not in seconds:
                    continue
                emit(
                    f"billing.{key}_seconds_per_100k",
                    seconds[key] / scale * 100_000,
                    "s/100k",
                    scale,
                )


def measure(scale: int, *, konbini_import: bool = True) -> tuple[int, dict]:
    installments = max(4, scale // 4 * 4)
    payers = installments // 4

    with bench_database("billing"):
        from django.conf import settings
        from django.db import connection, transaction
        from django.db.backends.signals import connection_created

        from payments import batches, documents
        from payments.formats import gs1, konbini
        from payments.models import BatchRun, Installment, Revenue

        batches.runs.CHUNK = 50_000
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO residents_resident (resident_code, family_name, given_name,
                    family_name_kana, given_name_kana, birth_date, sex, relationship, is_head,
                    became_resident_on, status, registered_domicile, domicile_head,
                    mynumber_digest, search_name, search_kana)
                SELECT lpad(g::text, 11, '0'), '負荷', '太郎' || g, 'フカ', 'タロウ',
                       DATE '1980-01-01', 'male', '世帯主', false, DATE '2000-04-01', 'current',
                       '', '', '', '負荷 太郎' || g, 'フカ タロウ'
                  FROM generate_series(1, %s) g
                """,
                [payers],
            )
        revenue = Revenue.objects.get(code="resident_tax")
        lines = ["assessment_key,resident_code,revenue_code,fiscal_year,amount,parcel_key"]
        lines += [
            f"A{i},{i:011d},resident_tax,2025,{120_000 + i % 1000}," for i in range(1, payers + 1)
        ]
        assessment = ("\n".join(lines) + "\n").encode()

        run = batches.submit(kind="billing", data=assessment, queue=False)
        # Time in SQL statements apart from the rest (the chunks' COMMITs, which run the
        # deferred foreign-key and charge-sum checks, and Python): which of the two to attack.
        statement_seconds = [0.0]

        def timed_statement(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                statement_seconds[0] += time.perf_counter() - started

        phases = ChunkPhases()
        connection_created.connect(phases.connected)
        with PeakMemory() as billing_memory, connection.execute_wrapper(timed_statement):
            phases.started = time.perf_counter()
            seconds, run = _timed("billing", lambda: batches.execute(run.pk))
        connection_created.disconnect(phases.connected)
        billing_seconds = seconds
        assert run.state == BatchRun.State.SUCCEEDED, run.error
        created = Installment.objects.count()
        assert created == installments, (created, installments)
        emit(
            "billing.run_installments_per_second",
            created / seconds,
            "installments/s",
            installments,
            charges=payers,
            seconds=round(seconds, 2),
            statements_seconds=round(statement_seconds[0], 2),
            commits_and_copy_seconds=round(seconds - statement_seconds[0], 2),
            load_average=round(os.getloadavg()[0], 1),
            parallel_chunks=settings.BATCH_PARALLEL_CHUNKS,
            chunk_lines=min(batches.runs.CHUNK, batches.runs.PARALLEL_CHUNK),
            target_1m_seconds=20,
            **phases.figures(phases.started + seconds),
            **billing_memory.figures(),
        )

        due = batches.due_dates(revenue, 2025)
        raw_rows = "".join(
            f"{c}\t{n}\t{30_000}\t{30_000}\t{due[n - 1].isoformat()}\t0\n"
            for c in range(1, payers + 1)
            for n in range(1, 5)
        ).encode()
        copy_seconds = _raw_copy(
            "CREATE TABLE bench_raw_installments (charge_id bigint, number int, "
            "assessed_amount bigint, amount bigint, due_on date, allocated bigint)",
            "bench_raw_installments",
            raw_rows,
        )
        emit(
            "billing.raw_copy_installments_per_second",
            installments / copy_seconds,
            "rows/s",
            installments,
            seconds=round(copy_seconds, 2),
        )
        if not konbini_import:
            return installments, {"billing": billing_seconds}

        # A result file: one 速報 per installment, paid in full (rows read with one plain
        # query: a million ORM instances would cost more than the import being measured).
        paid = date(2025, 6, 20)
        biller = documents.biller_code()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.id, i.amount, c.fiscal_year, v.slip_code FROM payments_installment i "
                "JOIN payments_charge c ON c.id = i.charge_id "
                "JOIN payments_revenue v ON v.id = c.revenue_id ORDER BY i.id"
            )
            rows = cursor.fetchall()
        records = (
            konbini.KonbiniRecord(
                line_no=0,
                record_type=konbini.PROVISIONAL,
                paid_date=paid,
                paid_time=clock(10, 0),
                barcode=gs1.build(
                    biller_code=biller,
                    revenue_code=slip_code,
                    fiscal_year=fiscal_year,
                    installment_key=pk,
                    deadline=date(2025, 12, 31),
                    amount=amount,
                ),
                user1="",
                user2="",
                stamp_flag=0,
                amount=amount,
                store_chain="010",
                store_name="STORE",
                store_code=f"{pk % 10000:04d}",
                transfer_date=None,
                file_date=paid,
            )
            for pk, amount, fiscal_year, slip_code in rows
        )
        result_file = konbini.build_result_csv(records)
        del rows

        run = batches.submit(kind="konbini_import", data=result_file, queue=False)
        with PeakMemory() as konbini_memory:
            seconds, run = _timed("konbini", lambda: batches.execute(run.pk))
        konbini_seconds = seconds
        assert run.state == BatchRun.State.SUCCEEDED, run.error
        assert run.succeeded_count == installments, run.succeeded_count
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM payments_installment WHERE allocated < amount")
            assert cursor.fetchone()[0] == 0
        emit(
            "billing.konbini_import_records_per_second",
            installments / seconds,
            "records/s",
            installments,
            seconds=round(seconds, 2),
            file_megabytes=round(len(result_file) / 1e6, 1),
            **konbini_memory.figures(),
        )

        copy_seconds = _raw_copy(
            "CREATE TABLE bench_raw_konbini (record_type text, paid_date text, paid_time text, "
            "barcode text, user1 text, user2 text, stamp_flag text, amount text, "
            "store_chain text, store_name text, store_code text, transfer_date text, "
            "file_date text)",
            "bench_raw_konbini",
            result_file.replace(b"\r\n", b"\n").replace(b",", b"\t"),
        )
        emit(
            "billing.raw_copy_konbini_records_per_second",
            installments / copy_seconds,
            "rows/s",
            installments,
            seconds=round(copy_seconds, 2),
        )
    return installments, {"billing": billing_seconds, "konbini": konbini_seconds}


if __name__ == "__main__":
    main()
