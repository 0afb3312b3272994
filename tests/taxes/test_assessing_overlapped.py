"""The assessment run outside a caller's transaction (what the Celery task does): the next
chunk is assessed while a writer thread, on its own connection, writes and commits the last
one. It must commit chunk by chunk with the cursor, resume after a writer that died, and store
the same JSON the dicts of residenttax would give."""

from __future__ import annotations

import json
import threading
from datetime import date

import orjson
import pytest
from factories_payments import revenue
from factories_taxes import report_row, reports_csv, taxpayer
from hypothesis import given, settings
from test_residenttax import declarations, options

from payments import selectors as payment_selectors
from taxes import assessing, residenttax, services
from taxes.models import Assessment, AssessmentRun, TaxCharge


@pytest.mark.timeout(900)  # a flushed database's setup and teardown are slow under load
@pytest.mark.django_db(transaction=True)
def test_overlapped_run_commits_per_chunk_in_a_writer_thread_and_resumes(
    supervisor, clerk, monkeypatch
):
    revenue("resident_tax")  # a flushed database has lost the data migration's revenues
    people = [taxpayer(given_name=f"重ね{i}", address=f"本町{i}丁目2番2号") for i in range(1, 6)]
    rows = [
        report_row(p, payment=3_000_000 + i * 100_000, collection="ordinary")
        for i, p in enumerate(people)
    ]
    services.import_salary_reports(data=reports_csv(rows), file_name="o.csv", actor=clerk)
    run = assessing.submit_run(fiscal_year=2025, kind="initial", actor=supervisor, queue=False)
    monkeypatch.setattr(assessing, "CHUNK", 2)
    monkeypatch.setattr(assessing, "BILL_EVERY", 2)  # every committed chunk billed behind it
    real = assessing._write_chunk
    real_bill = assessing._bill_initial
    writers: list[str] = []
    billers: list[str] = []

    def billing(run, span=None):
        billers.append(threading.current_thread().name)
        return real_bill(run, span)

    monkeypatch.setattr(assessing, "_bill_initial", billing)

    def dying(run, plan, *, today):
        writers.append(threading.current_thread().name)
        if len(writers) == 2:
            raise RuntimeError("writer killed")
        return real(run, plan, today=today)

    monkeypatch.setattr(assessing, "_write_chunk", dying)
    with pytest.raises(RuntimeError, match="writer killed"):
        assessing.execute_run(run.pk, today=date(2025, 5, 20))
    assert writers and all(name.startswith("taxes-writer") for name in writers)
    partial = AssessmentRun.objects.get(pk=run.pk)
    # The first chunk is committed with the cursor; the second rolled back whole.
    assert partial.state == "failed" and "writer killed" in partial.error
    assert partial.processed == 2 and partial.cursor == people[1].pk
    assert set(Assessment.objects.values_list("resident_id", flat=True)) == {
        people[0].pk,
        people[1].pk,
    }
    # The committed chunk was billed in the billing thread before the run stopped.
    assert billers == ["taxes-biller_0"] and not partial.billed
    assert set(TaxCharge.objects.values_list("resident_id", flat=True)) == {
        people[0].pk,
        people[1].pk,
    }

    monkeypatch.setattr(assessing, "_write_chunk", real)
    done = assessing.execute_run(run.pk, today=date(2025, 5, 20))
    assert done.state == "succeeded" and done.processed == 5 and done.assessed_count == 5
    # Chunks 2 and 3 billed behind the writer (chunk 1 by the first attempt), nothing left.
    assert done.billed and len(done.params["billing_runs"]) == 2
    assert Assessment.objects.count() == 5 and TaxCharge.objects.count() == 5
    for person in people:
        a = Assessment.objects.get(resident=person)
        d = residenttax.declaration_from_dict(a.inputs)
        assert a.result == residenttax.assess(d).as_dict()
        charge = payment_selectors.charge_for_origin(assessing.initial_origin(2025, person.pk))
        assert charge.amount == a.total > 0
    again = assessing.execute_run(run.pk)
    assert again.assessed_count == 5 and Assessment.objects.count() == 5


@settings(max_examples=200, deadline=None)
@given(declarations, options)
def test_run_json_of_the_dataclasses_is_the_json_of_their_dicts(d, opts):
    """The run serialises residenttax's dataclasses with orjson directly: the stored inputs and
    result must be what declaration_to_dict and as_dict give (and the inputs read back)."""
    result = residenttax.assess(d, **opts)
    stored_inputs = orjson.loads(assessing._json(d))
    assert stored_inputs == json.loads(json.dumps(residenttax.declaration_to_dict(d)))
    assert residenttax.declaration_from_dict(stored_inputs) == d
    assert orjson.loads(assessing._json(result)) == json.loads(json.dumps(result.as_dict()))
    # COPY's text format: no raw tab or line break inside a JSON cell.
    cell = assessing._json_cell(d)
    assert "\t" not in cell and "\n" not in cell
