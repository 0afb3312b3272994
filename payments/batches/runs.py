"""The run machinery of batch jobs: submit, execute, advisory locks, staging, chunks.

A run goes: submit (the input is saved under PRIVATE_STORAGE_ROOT, the run row is created once per
input digest) → stage (the file is parsed and ``COPY``-ed into an unlogged staging table, in one
transaction with the run's ``staged`` flag) → chunks (each chunk of staged lines is applied by
set-based ``INSERT … SELECT … ON CONFLICT`` in one transaction together with the run's cursor and
counters). A worker that dies mid-run leaves the run ``running`` with its cursor; running it again
continues from the cursor, and the ``ON CONFLICT`` keys make a repeated chunk change nothing.

The jobs themselves (billing, convenience-store import, …) live in their own modules and register
their runner here with :func:`runner`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import BatchAttempt, BatchChunk, BatchRun

CHUNK = 50_000
# Chunks applied side by side are smaller, so the connections finish together: a million-line
# run is 20 chunks (10 each on two connections) instead of 5 (3 against 2), and a 100,000-line
# one is 2 instead of 1. What a chunk costs is per line; its commit is no cheaper for being large.
PARALLEL_CHUNK = 12_500


def _storage_dir() -> Path:
    path = Path(settings.PRIVATE_STORAGE_ROOT) / "payments" / "batches"
    path.mkdir(parents=True, exist_ok=True)
    return path


def input_path(run: BatchRun) -> Path:
    return _storage_dir() / f"{run.kind}-{run.input_digest}"


def submit(
    *, kind: str, data: bytes = b"", params: dict | None = None, actor=None, queue: bool = True
) -> BatchRun:
    """Create (or find) the run for this input and queue it. Same input → same run; the same
    input after a failed run tries that run again (:func:`retry`), a succeeded run is returned
    as it is (never a second success)."""
    params = params or {}
    if actor is not None and not actor.has_perm("payments.add_batchrun"):
        raise PermissionDenied
    if kind not in BatchRun.Kind.values:
        raise ValidationError({"kind": _("不明なバッチの種類です。")})
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
        if data and (created or not input_path(run).exists()):
            input_path(run).write_bytes(data)
        if not created and run.state == BatchRun.State.FAILED:
            run = _new_attempt(run, actor=actor)
            created = True
        if created and queue:
            from ..tasks import run_batch

            transaction.on_commit(lambda: run_batch.delay(run.pk))
    return run


def retry(*, run_id: int, actor, queue: bool = True) -> BatchRun:
    """Run a failed run again: a new attempt with the same input, continuing from its cursor
    (every chunk is idempotent), the failed attempt kept in the run's history."""
    if not actor.has_perm("payments.change_batchrun"):
        raise PermissionDenied
    with transaction.atomic():
        run = BatchRun.objects.select_for_update().defer("output").get(pk=run_id)
        if run.state != BatchRun.State.FAILED:
            raise ValidationError(_("もう一度実行できるのは失敗したバッチだけです。"))
        run = _new_attempt(run, actor=actor)
        if queue:
            from ..tasks import run_batch

            transaction.on_commit(lambda: run_batch.delay(run.pk))
    return run


def _new_attempt(run: BatchRun, *, actor) -> BatchRun:
    BatchAttempt.objects.create(
        batch_run=run,
        number=run.attempt,
        error=run.error,
        cursor=run.cursor,
        started_at=run.started_at,
        finished_at=run.finished_at,
        retried_by=actor if actor is not None and actor.is_authenticated else None,
    )
    BatchRun.objects.filter(pk=run.pk, state=BatchRun.State.FAILED).update(
        state=BatchRun.State.PENDING,
        attempt=F("attempt") + 1,
        error="",
        started_at=None,
        finished_at=None,
    )
    return BatchRun.objects.defer("output").get(pk=run.pk)


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
        # Read again under the lock: another worker may have finished it in between.
        run.refresh_from_db()
        started = BatchRun.objects.filter(
            pk=run.pk, state__in=[BatchRun.State.PENDING, BatchRun.State.RUNNING]
        ).update(state=BatchRun.State.RUNNING, started_at=run.started_at or timezone.now())
        if not started:
            return run
        try:
            RUNNERS[run.kind](run)
        except Exception as error:
            BatchRun.objects.filter(pk=run.pk).update(
                state=BatchRun.State.FAILED,
                error=f"{type(error).__name__}: {error}"[:4000],
                finished_at=timezone.now(),
            )
            raise
        # Only a running run succeeds, once: a retried run is a new attempt of the same row.
        BatchRun.objects.filter(pk=run.pk, state=BatchRun.State.RUNNING).update(
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
    from ..tasks import run_batch

    orphans = orphaned_runs(pending_for=pending_for)
    for run_id in orphans:
        run_batch.delay(run_id)
    return orphans


# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped,
# and None is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_READ = 1 << 16


class _CopyStream:
    """Rows as a file COPY reads piece by piece: each row is formatted when COPY asks for more,
    so neither the rows nor their text are ever all in memory (a million-line input is read,
    parsed and sent as it goes)."""

    def __init__(self, rows: Iterable[tuple]) -> None:
        self._rows = iter(rows)
        self._pending = b""
        self.count = 0
        self.error: Exception | None = None

    def read(self, size: int = -1) -> bytes:
        want = size if size and size > 0 else _COPY_READ
        parts = [self._pending]
        length = len(self._pending)
        try:
            for row in self._rows:
                line = "\t".join(
                    "\\N" if value is None else str(value).translate(_COPY_ESCAPES) for value in row
                )
                encoded = (line + "\n").encode()
                parts.append(encoded)
                length += len(encoded)
                self.count += 1
                if length >= want:
                    break
        except Exception as error:
            # Ends the COPY here; copy_rows raises it once COPY has returned, so the run fails
            # with the line's own message and the caller's transaction rolls back.
            self.error = error
            self._pending = b""
            return b""
        data = b"".join(parts)
        self._pending = data[want:]
        return data[:want]


def copy_rows(table: str, columns: Iterable[str], rows: Iterable[tuple]) -> int:
    """COPY rows into a table, streamed (see `_CopyStream`); returns how many were copied. An
    error raised while producing the rows (a malformed input line) is raised here, after COPY
    has ended, for the caller's transaction to roll back."""
    stream = _CopyStream(rows)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN", stream, size=_COPY_READ
        )
    if stream.error is not None:
        raise stream.error
    return stream.count


def stage_once(run: BatchRun, stage: Callable[[], int]) -> BatchRun:
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


def independent_chunks(
    apply_chunk: Callable[[BatchRun, int, int], dict],
) -> Callable[[BatchRun, int, int], dict]:
    """Mark a job's chunk function as independent of the other chunks and of their order (a
    billing line makes its own charge): :func:`in_chunks` may then apply its chunks side by side
    (:func:`in_parallel_chunks`). A job whose lines depend on the lines before them (a
    convenience-store payment is allocated after the earlier ones) leaves it unmarked."""
    apply_chunk.independent_chunks = True  # type: ignore[attr-defined]
    return apply_chunk


def _added_counts(counts: dict) -> dict:
    """A chunk's counts added to the run's counters, as UPDATE expressions."""
    return {
        "succeeded_count": F("succeeded_count") + counts.get("succeeded", 0),
        "failed_count": F("failed_count") + counts.get("failed", 0),
        "skipped_count": F("skipped_count") + counts.get("skipped", 0),
        "amount_total": F("amount_total") + counts.get("amount_total", 0),
        "amount_succeeded": F("amount_succeeded") + counts.get("amount_succeeded", 0),
    }


def in_chunks(run: BatchRun, apply_chunk: Callable[[BatchRun, int, int], dict]) -> None:
    """Apply [cursor, cursor + CHUNK) line by line range until the end, each in a transaction;
    chunks marked :func:`independent_chunks` go to :func:`in_parallel_chunks`."""
    if getattr(apply_chunk, "independent_chunks", False):
        in_parallel_chunks(run, apply_chunk)
        return
    while True:
        with transaction.atomic():
            run = BatchRun.objects.select_for_update().defer("output").get(pk=run.pk)
            if run.cursor >= run.total:
                return
            start, end = run.cursor, min(run.cursor + CHUNK, run.total)
            counts = apply_chunk(run, start, end)
            BatchRun.objects.filter(pk=run.pk).update(
                cursor=end, processed=end, **_added_counts(counts)
            )


def in_parallel_chunks(
    run: BatchRun,
    apply_chunk: Callable[[BatchRun, int, int], dict],
    *,
    parallel: int | None = None,
) -> None:
    """Apply the staged lines in chunks of PARALLEL_CHUNK lines, ``parallel`` connections at a time
    (default: the BATCH_PARALLEL_CHUNKS setting), for jobs whose chunks are independent of each
    other and of their order (a billing line makes its own charge). Each chunk is claimed with
    ``FOR UPDATE SKIP LOCKED`` and marked done, with the run's counters, in the transaction that
    applied it: a run resumed after a crash applies only the chunks that never committed. The
    run's cursor is then the number of lines in done chunks, its counters their sums."""
    parallel = settings.BATCH_PARALLEL_CHUNKS if parallel is None else parallel
    # Inside the caller's transaction the staged lines are not committed yet, and another
    # connection would not see them: the chunks are applied here, one after another.
    nested = connection.in_atomic_block
    if nested:
        parallel = 1
    # A single chunk left needs no second connection (and keeps the caller's session settings).
    parallel = min(parallel, _plan_chunks(run))
    if parallel <= 1:
        while _apply_next_chunk(run.pk, apply_chunk, checks_before_counters=not nested):
            pass
        return
    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set() and _apply_next_chunk(
                run.pk, apply_chunk, checks_before_counters=True
            ):
                pass
        except BaseException:
            stop.set()  # the others finish the chunk they hold and claim no more
            raise
        finally:
            connections.close_all()  # this thread's connections only

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix=f"batch-{run.pk}") as pool:
        futures = [pool.submit(work) for _ in range(parallel)]
    for future in futures:
        future.result()  # the first error fails the run


def _plan_chunks(run: BatchRun) -> int:
    """Cut the lines not yet applied into chunks, once per run (under the run's row lock);
    returns how many chunks are not done."""
    with transaction.atomic():
        run = BatchRun.objects.select_for_update().defer("output").get(pk=run.pk)
        if not BatchChunk.objects.filter(batch_run=run).exists():
            size = min(CHUNK, PARALLEL_CHUNK)
            BatchChunk.objects.bulk_create(
                BatchChunk(batch_run=run, start=start, end=min(start + size, run.total))
                for start in range(run.cursor, run.total, size)
            )
        return BatchChunk.objects.filter(batch_run=run, done=False).count()


# Two chunks that insert the same key (a line repeated in the file, far apart) wait for each
# other; PostgreSQL breaks a cycle by failing one transaction, whose chunk is simply claimed again.
DEADLOCK_RETRIES = 3


def _apply_next_chunk(
    run_id: int, apply_chunk: Callable[[BatchRun, int, int], dict], *, checks_before_counters: bool
) -> bool:
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            return _apply_one_chunk(
                run_id, apply_chunk, checks_before_counters=checks_before_counters
            )
        except OperationalError as error:
            if getattr(error.__cause__, "pgcode", None) != "40P01" or attempt == DEADLOCK_RETRIES:
                raise
    return False  # pragma: no cover (the loop returns or raises)


def _apply_one_chunk(
    run_id: int, apply_chunk: Callable[[BatchRun, int, int], dict], *, checks_before_counters: bool
) -> bool:
    with transaction.atomic():
        chunk = (
            BatchChunk.objects.select_for_update(skip_locked=True)
            .filter(batch_run_id=run_id, done=False)
            .order_by("start")
            .first()
        )
        if chunk is None:
            return False
        run = BatchRun.objects.defer("output").get(pk=run_id)
        counts = apply_chunk(run, chunk.start, chunk.end)
        if checks_before_counters:
            # The deferred checks (foreign keys, charge sums) run now rather than at COMMIT, so
            # the run's row below stays locked for a moment, not while another chunk's checks run.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        BatchChunk.objects.filter(pk=chunk.pk).update(done=True)
        lines = chunk.end - chunk.start
        BatchRun.objects.filter(pk=run_id).update(
            cursor=F("cursor") + lines, processed=F("processed") + lines, **_added_counts(counts)
        )
    return True


RUNNERS: dict[str, Callable[[BatchRun], None]] = {}


def runner(kind: str) -> Callable[[Callable[[BatchRun], None]], Callable[[BatchRun], None]]:
    """Decorator: the function that executes runs of ``kind``."""

    def register(function: Callable[[BatchRun], None]) -> Callable[[BatchRun], None]:
        RUNNERS[kind] = function
        return function

    return register
