"""Collection files: convenience-store results, Zengin direct debit, the annual billing run."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError
from factories_payments import (
    assessment_csv,
    make_charge,
    make_resident,
    quarterly_resident_tax,
)

from factories import UserFactory
from payments import batches, direct_debit, documents, selectors
from payments.formats import konbini, zengin
from payments.models import BatchRun, Charge, DebitRequest, Installment, Payment, UnmatchedRecord

pytestmark = pytest.mark.django_db


def _record(
    installment, amount, *, kind="01", paid=date(2025, 7, 1), hhmm=time(10, 5), transfer=None
):
    code = documents.barcode_for(installment, amount=amount, deadline=date(2025, 12, 31))
    return konbini.KonbiniRecord(
        line_no=0,
        record_type=kind,
        paid_date=paid,
        paid_time=hhmm,
        barcode=code,
        user1="",
        user2="",
        stamp_flag=0,
        amount=amount,
        store_chain="010",
        store_name="テスト店",
        store_code="0001",
        transfer_date=transfer if kind == "02" else None,
        file_date=paid,
    )


def _import(records):
    data = konbini.build_result_csv(records, header=True)
    run = batches.submit(kind="konbini_import", data=data, queue=False)
    return batches.execute(run.pk)


def test_konbini_file_imported_twice_creates_each_payment_once():
    payer = make_resident()
    first, second = (
        make_charge(payer, parts=[(date(2025, 6, 30), 5_000)]).installments.get(),
        make_charge(payer, code="water", parts=[(date(2025, 7, 31), 3_000)]).installments.get(),
    )
    records = [_record(first, 5_000), _record(second, 3_000, hhmm=time(11, 0))]
    run = _import(records)
    again = _import(records)
    assert again.pk == run.pk
    # Even a new file carrying the same lines (another file date) adds nothing.
    third = _import([*records, _record(first, 5_000, kind="02", transfer=date(2025, 7, 4))])
    assert third.pk != run.pk
    assert Payment.objects.filter(channel="konbini").count() == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.allocated, second.allocated) == (5_000, 3_000)
    assert (run.state, run.succeeded_count, run.amount_succeeded) == ("succeeded", 2, 8_000)
    final = Payment.objects.get(external_ref__startswith=records[0].barcode)
    assert (final.provisional, final.received_on) == (False, date(2025, 7, 4))
    assert selectors.reconciliation_report()["ok"]


def test_konbini_reversal_takes_back_a_provisional_payment_and_unmatched_lines_are_listed():
    payer = make_resident()
    installment = make_charge(payer, parts=[(date(2025, 6, 30), 5_000)]).installments.get()
    _import([_record(installment, 5_000)])
    stranger = Installment(pk=999_999, charge=installment.charge, number=9)
    unknown = _record(installment, 100, hhmm=time(12, 0))
    unknown = konbini.KonbiniRecord(
        **{
            **unknown.__dict__,
            "barcode": documents.barcode_for(stranger, amount=100, deadline=None),
        }
    )
    run = _import([_record(installment, 5_000, kind="03"), unknown])
    installment.refresh_from_db()
    assert installment.allocated == 0
    assert Payment.objects.get(channel="konbini").state == "cancelled"
    assert list(
        UnmatchedRecord.objects.filter(batch_run=run).values_list("line_no", flat=True)
    ) == [2]
    assert selectors.reconciliation_report()["ok"]


def test_konbini_overpayment_on_a_paid_installment_becomes_credit():
    payer = make_resident()
    installment = make_charge(payer, parts=[(date(2025, 6, 30), 5_000)]).installments.get()
    _import([_record(installment, 5_000), _record(installment, 5_000, hhmm=time(18, 0))])
    payments = Payment.objects.filter(channel="konbini").order_by("id")
    assert [(p.allocated_amount, p.credit_amount) for p in payments] == [(5_000, 0), (0, 5_000)]
    assert selectors.reconciliation_report()["ok"]


def _zengin_setup():
    payer = make_resident()
    direct_debit.register_account(
        resident=payer,
        bank_code="0005",
        branch_code="123",
        account_type=1,
        account_number="1234567",
        holder_kana="しゅうのう たろう",
    )
    other = make_resident()
    direct_debit.register_account(
        resident=other,
        bank_code="0009",
        branch_code="001",
        account_type=1,
        account_number="7654321",
        holder_kana="ヤマダ ハナコ",
    )
    due = date(2025, 6, 30)
    paid_one = make_charge(payer, parts=[(due, 12_000)]).installments.get()
    failed_one = make_charge(other, parts=[(due, 8_000)]).installments.get()
    make_charge(other, parts=[(date(2025, 7, 31), 1_000)])  # another due date: not requested
    return due, paid_one, failed_one


def test_zengin_request_file_has_120_byte_records_and_matching_totals():
    due, paid_one, failed_one = _zengin_setup()
    run = batches.execute(
        batches.submit(kind="zengin_request", params={"on_date": due.isoformat()}, queue=False).pk
    )
    data = bytes(BatchRun.objects.get(pk=run.pk).output)
    records = data.split(b"\r\n")
    records = [r for r in records if r]
    assert [len(r) for r in records] == [120] * 5
    assert [r[:1] for r in records] == [b"1", b"2", b"2", b"8", b"9"]
    assert records[0][1:3] == b"91" and records[0][54:58] == b"0630"
    trailer = records[3]
    assert (int(trailer[1:7]), int(trailer[7:19])) == (2, 20_000)
    assert {r[91:111].decode().strip() for r in records[1:3]} == {
        direct_debit.customer_number(paid_one.pk),
        direct_debit.customer_number(failed_one.pk),
    }
    assert "ｼﾕｳﾉｳ ﾀﾛｳ".encode("cp932") in records[1] + records[2]


def test_zengin_result_file_marks_paid_and_failed_installments():
    due, paid_one, failed_one = _zengin_setup()
    request_run = batches.execute(
        batches.submit(kind="zengin_request", params={"on_date": due.isoformat()}, queue=False).pk
    )
    parsed = zengin.parse_request(bytes(BatchRun.objects.get(pk=request_run.pk).output))
    for record in parsed.records:
        record.result_code = (
            0 if record.customer_number == direct_debit.customer_number(paid_one.pk) else 1
        )
    result = zengin.build_result(
        debit_date=due, records=parsed.records, **direct_debit.originator()
    )
    run = batches.execute(batches.submit(kind="zengin_result", data=result, queue=False).pk)
    batches.execute(batches.submit(kind="zengin_result", data=result, queue=False).pk)
    paid_one.refresh_from_db()
    failed_one.refresh_from_db()
    assert (paid_one.allocated, failed_one.allocated) == (12_000, 0)
    failed = DebitRequest.objects.get(installment=failed_one)
    assert (failed.result_code, failed.result_text) == (1, "資金不足")
    assert (run.succeeded_count, run.failed_count, run.amount_succeeded) == (1, 1, 12_000)
    assert Payment.objects.filter(channel="direct_debit").count() == 1


def test_debit_account_registration_checks_the_fields():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        direct_debit.register_account(
            resident=make_resident(),
            bank_code="12",
            branch_code="1234",
            account_type=3,
            account_number="12345678",
            holder_kana="山田",
        )
    assert set(error.value.error_dict) == {
        "bank_code",
        "branch_code",
        "account_type",
        "account_number",
        "holder_kana",
    }


def test_billing_run_creates_charges_once_and_resumes_from_its_cursor(monkeypatch):
    quarterly_resident_tax()
    payers = [make_resident() for _ in range(5)]
    data = assessment_csv(
        [(f"A{i}", p.resident_code, 123_456 + i) for i, p in enumerate(payers)]
        + [("A9", "00000000000", 5000)]
    )
    monkeypatch.setattr(batches.runs, "CHUNK", 2)
    run = batches.submit(kind="billing", data=data, queue=False)
    # A crash after the first chunk: the run is left "running" with its cursor.
    calls = {"n": 0}
    original = batches.runs.in_chunks

    def crash_after_first(run, apply_chunk):
        def once(run, start, end):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("worker lost")
            return apply_chunk(run, start, end)

        original(run, once)

    monkeypatch.setattr(batches.runs, "in_chunks", crash_after_first)
    with pytest.raises(RuntimeError):
        batches.execute(run.pk)
    run.refresh_from_db()
    assert (run.cursor, Charge.objects.count()) == (2, 2)
    monkeypatch.setattr(batches.runs, "in_chunks", original)
    run = batches.execute(
        batches.retry(run_id=run.pk, actor=UserFactory(role="supervisor"), queue=False).pk
    )
    assert Charge.objects.count() == 5
    charge = Charge.objects.get(origin="assessment:resident_tax:2025:A0")
    assert list(charge.installments.order_by("number").values_list("amount", "due_on")) == [
        (33_456, date(2025, 6, 30)),
        (30_000, date(2025, 9, 1)),
        (30_000, date(2025, 10, 31)),
        (30_000, date(2026, 2, 2)),
    ]
    assert (run.state, run.succeeded_count, run.failed_count) == ("succeeded", 5, 1)
    assert run.amount_succeeded == sum(123_456 + i for i in range(5))
    assert selectors.reconciliation_report()["ok"]


def test_a_finished_run_refreshes_the_planner_statistics_of_the_tables_it_filled():
    # Autovacuum may sample a table just after a killed run rolled back ("0 rows"): every later
    # plan would then assume an empty ledger. The run's end corrects that.
    from django.db import connection

    quarterly_resident_tax()
    payers = [make_resident() for _ in range(3)]
    data = assessment_csv((f"S{i}", payers[i % 3].resident_code, 50_000 + i) for i in range(300))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_class SET reltuples = 0 "
            "WHERE relname IN ('payments_charge', 'payments_installment')"
        )
    run = batches.submit(kind="billing", data=data, queue=False)
    batches.execute(run.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::int FROM pg_class "
            "WHERE relname IN ('payments_charge', 'payments_installment') ORDER BY relname"
        )
        stats = dict(cursor.fetchall())
    assert stats == {
        "payments_charge": Charge.objects.count(),
        "payments_installment": Installment.objects.count(),
    }
    assert Installment.objects.count() == 1200


def test_a_failed_import_uploaded_again_is_a_new_attempt_of_the_same_run_and_succeeds_once(
    monkeypatch,
):
    """A transient error fails the run; the same file uploaded again tries the run again, with
    the failed attempt in its history; once it has succeeded, the file changes nothing more."""
    supervisor = UserFactory(role="supervisor")
    payer = make_resident()
    installment = make_charge(payer, parts=[(date(2025, 6, 30), 5_000)]).installments.get()
    data = konbini.build_result_csv([_record(installment, 5_000)], header=True)
    original = batches.runs.in_chunks

    def connection_lost(run, apply_chunk):
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(batches.runs, "in_chunks", connection_lost)
    failed = batches.submit(kind="konbini_import", data=data, actor=supervisor, queue=False)
    with pytest.raises(ConnectionError):
        batches.execute(failed.pk)
    failed.refresh_from_db()
    assert failed.state == "failed" and "ConnectionError" in failed.error
    monkeypatch.setattr(batches.runs, "in_chunks", original)

    again = batches.submit(kind="konbini_import", data=data, actor=supervisor, queue=False)
    assert again.pk == failed.pk and again.state == "pending"
    done = batches.execute(again.pk)
    assert (done.state, done.attempt, done.succeeded_count) == ("succeeded", 2, 1)
    history = list(done.attempts.values_list("number", "error", "retried_by"))
    assert len(history) == 1 and history[0][0] == 1 and "ConnectionError" in history[0][1]
    assert history[0][2] == supervisor.pk
    installment.refresh_from_db()
    assert installment.allocated == 5_000

    # Never a second success: the same file again returns the finished run and adds nothing.
    third = batches.submit(kind="konbini_import", data=data, actor=supervisor, queue=False)
    assert third.pk == done.pk and batches.execute(third.pk).attempt == 2
    assert Payment.objects.filter(channel="konbini").count() == 1
    with pytest.raises(ValidationError):
        batches.retry(run_id=done.pk, actor=supervisor, queue=False)


def test_supervisor_runs_a_failed_batch_again_from_its_page_and_a_clerk_cannot(
    client, clerk, supervisor
):
    run = BatchRun.objects.create(
        kind=BatchRun.Kind.ARREARS,
        state=BatchRun.State.FAILED,
        input_digest="retry-page",
        params={"on_date": "2025-07-15"},
        error="OperationalError: could not connect to server",
    )
    client.force_login(clerk)
    page = client.get(f"/staff/payments/batches/{run.pk}/")
    assert page.status_code == 200 and "retry-form" not in page.content.decode()
    assert client.post(f"/staff/payments/batches/{run.pk}/retry/").status_code == 403
    client.force_login(supervisor)
    page = client.get(f"/staff/payments/batches/{run.pk}/")
    assert "retry-form" in page.content.decode()
    response = client.post(f"/staff/payments/batches/{run.pk}/retry/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.state, run.attempt) == ("pending", 2)
    page = client.get(f"/staff/payments/batches/{run.pk}/").content.decode()
    assert "could not connect to server" in page and 'id="attempts"' in page
    api = client.post(f"/api/payments/batch-runs/{run.pk}/retry/")
    assert api.status_code == 400  # it is not failed any more
