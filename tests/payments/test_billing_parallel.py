"""The annual billing run applies its chunks on two connections side by side, and a run that fails
midway (one connection's statement aborted by the database while the other is applying its own
chunk) resumes to the same ledger as a run that was never interrupted: every line one charge, its
four installments and one event, nothing applied twice, the run's cursor and counters the sums of
its chunks."""

from __future__ import annotations

import pytest
from django.db import connection
from factories_payments import assessment_csv, make_resident, quarterly_resident_tax

from payments import batches, selectors
from payments.batches import runs
from payments.models import BatchChunk, BatchRun, Charge, Installment, LedgerEvent

LINES = 12_000
SMALL_CHUNK = 1_000  # twelve chunks, so the failure lands with chunks done and chunks left
FAILING_LINE = 7_500


def _ledger(prefix: str) -> dict:
    """The run's charges, installments and events, keyed by the line's assessment key."""
    charges = {
        origin.rsplit(":", 1)[1].removeprefix(prefix): (payer, amount)
        for origin, payer, amount in Charge.objects.filter(
            origin__startswith="assessment:", origin__contains=f":{prefix}"
        ).values_list("origin", "payer_id", "amount")
    }
    installments = sorted(
        (origin.rsplit(":", 1)[1].removeprefix(prefix), number, amount, assessed, due)
        for origin, number, amount, assessed, due in Installment.objects.filter(
            charge__origin__contains=f":{prefix}"
        ).values_list("charge__origin", "number", "amount", "assessed_amount", "due_on")
    )
    events = sorted(
        (origin.rsplit(":", 1)[1].removeprefix(prefix), kind, amount)
        for origin, kind, amount in LedgerEvent.objects.filter(
            charge__origin__contains=f":{prefix}"
        ).values_list("charge__origin", "kind", "amount")
    )
    return {"charges": charges, "installments": installments, "events": events}


def _counters(run: BatchRun) -> tuple:
    return (
        run.state,
        run.total,
        run.processed,
        run.cursor,
        run.succeeded_count,
        run.failed_count,
        run.skipped_count,
        run.amount_total,
        run.amount_succeeded,
    )


def _file(prefix: str, payers) -> bytes:
    return assessment_csv(
        (f"{prefix}{i}", payers[i % len(payers)].resident_code, 40_000 + i) for i in range(LINES)
    )


@pytest.mark.django_db(transaction=True)
def test_parallel_billing_run_aborted_midway_resumes_to_the_uninterrupted_ledger(
    monkeypatch, settings, django_user_model
):
    settings.BATCH_PARALLEL_CHUNKS = 2
    monkeypatch.setattr(runs, "CHUNK", SMALL_CHUNK)
    quarterly_resident_tax()
    payers = [make_resident() for _ in range(7)]
    clerk = django_user_model.objects.create_superuser("batch-clerk", password="x")
    with connection.cursor() as cursor:
        # Which backends inserted charges: the run is expected to use two connections.
        cursor.execute("CREATE TABLE test_billing_backends (pid int)")
        cursor.execute(
            "CREATE FUNCTION test_note_backend() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN INSERT INTO test_billing_backends VALUES (pg_backend_pid()); RETURN NULL; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_note_backend AFTER INSERT ON payments_charge "
            "FOR EACH STATEMENT EXECUTE FUNCTION test_note_backend()"
        )

    whole = batches.execute(batches.submit(kind="billing", data=_file("W", payers), queue=False).pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT pid) FROM test_billing_backends")
        assert cursor.fetchone()[0] == 2, "the chunks were not applied on two connections"

    # The database aborts the statement that bills line FAILING_LINE of the second file.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_abort_line() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF NEW.origin LIKE '%%:A" + str(FAILING_LINE) + "' THEN "
            "RAISE EXCEPTION 'aborted mid-run'; END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_abort_line BEFORE INSERT ON payments_charge "
            "FOR EACH ROW EXECUTE FUNCTION test_abort_line()"
        )
    submitted = batches.submit(kind="billing", data=_file("A", payers), queue=False)
    with pytest.raises(Exception, match="aborted mid-run"):
        batches.execute(submitted.pk)
    failed = BatchRun.objects.get(pk=submitted.pk)
    done_chunks = BatchChunk.objects.filter(batch_run=failed, done=True)
    done_lines = sum(end - start for start, end in done_chunks.values_list("start", "end"))
    assert failed.state == "failed"
    assert 0 < done_lines < LINES
    # Only whole chunks were applied, each once, and the cursor counts their lines.
    assert (failed.cursor, failed.processed, failed.succeeded_count) == (done_lines,) * 3
    assert len(_ledger("A")["charges"]) == done_lines
    assert not BatchChunk.objects.filter(
        batch_run=failed, done=True, start__lte=FAILING_LINE, end__gt=FAILING_LINE
    ).exists()

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_abort_line ON payments_charge")
    resumed = batches.execute(batches.retry(run_id=failed.pk, actor=clerk, queue=False).pk)

    assert _counters(resumed) == _counters(whole)
    assert resumed.cursor == LINES
    assert not BatchChunk.objects.filter(batch_run=resumed, done=False).exists()
    assert _ledger("A") == _ledger("W")
    assert len(_ledger("A")["charges"]) == LINES
    assert len(_ledger("A")["events"]) == LINES  # one event per charge: nothing applied twice
    assert selectors.reconciliation_report()["ok"]
