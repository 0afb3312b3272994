"""The billing run's set-based charge check keeps a sane plan whatever the statistics say.

Its queue of charges to check is empty at rest, so ANALYZE (or autovacuum) records it as empty;
PL/pgSQL also keeps a statement's plan for the session, made the first time, when the queue held a
charge or two. A plan chosen for an empty queue (nested loops re-running an aggregate per queued
charge) turned a chunk's commit quadratic: over ten minutes for one chunk in the full suite. The
test bills a full chunk in one commit after exactly those conditions, watched by a timer that
cancels the backend (statement_timeout does not cover the deferred triggers COMMIT runs), so a bad
plan fails it instead of hanging. Merge and hash joins are turned off for the run, as the
planner may well choose nested loops for a queue it believes holds one row: the check must stay
linear with the plan the full suite got.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from factories_payments import assessment_csv, make_resident, quarterly_resident_tax

from payments import batches
from payments.batches import CHUNK
from payments.models import Charge, Installment

# Billing a full chunk takes a few seconds on a quiet machine and under a minute on a loaded one;
# the quadratic plan took over ten minutes.
TIMEOUT_SECONDS = 120


def _cancel_backend(pid: int) -> None:
    """From another thread (its own connection): cancel what the test's backend is running."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_cancel_backend(%s)", [pid])
    finally:
        connections["default"].close()


@pytest.mark.django_db(transaction=True)
def test_a_full_chunk_commits_in_bounded_time_after_the_queue_was_analysed_empty():
    quarterly_resident_tax()
    payers = [make_resident() for _ in range(5)]
    # Small runs first in this session, each committing a one-charge check: after five, PL/pgSQL
    # may keep a generic plan, made with a queue of one charge.
    for n in range(8):
        small = batches.execute(
            batches.submit(
                kind="billing",
                data=assessment_csv([(f"P{n}", payers[0].resident_code, 50_000)]),
                queue=False,
            ).pk
        )
        assert (small.state, small.succeeded_count) == ("succeeded", 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payments_charge_check_queue")
        assert cursor.fetchone()[0] == 0
        cursor.execute("ANALYZE payments_charge_check_queue")
        cursor.execute("ANALYZE payments_charge_check_marker")
        cursor.execute(
            "SELECT relpages, reltuples FROM pg_class WHERE relname = 'payments_charge_check_queue'"
        )
        # Analysed, seen empty, with the pages its earlier rows left: the planner now estimates
        # one row, whatever it holds.
        pages, tuples = cursor.fetchone()
        assert pages > 0 and tuples == 0
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        cursor.execute("SET enable_mergejoin = off")
        cursor.execute("SET enable_hashjoin = off")
    watchdog = threading.Timer(TIMEOUT_SECONDS, _cancel_backend, [pid])
    watchdog.start()
    try:
        data = assessment_csv(
            (f"L{i}", payers[i % 5].resident_code, 40_000 + i) for i in range(CHUNK)
        )
        run = batches.execute(batches.submit(kind="billing", data=data, queue=False).pk)
    finally:
        watchdog.cancel()
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_mergejoin")
            cursor.execute("RESET enable_hashjoin")
    # One chunk, one transaction: its COMMIT ran the set-based check of every charge.
    assert (run.state, run.succeeded_count, run.failed_count) == ("succeeded", CHUNK, 0)
    assert Charge.objects.count() == CHUNK + 8
    assert Installment.objects.count() == 4 * (CHUNK + 8)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payments_charge_check_queue")
        assert cursor.fetchone()[0] == 0
