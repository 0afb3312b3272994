"""The batch runs write each row once and check the ledger rules set-based,
and the database still refuses what breaks them."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.db import IntegrityError, connection, transaction
from factories_payments import assessment_csv, make_charge, make_resident, quarterly_resident_tax

from payments import batches, documents, selectors
from payments.formats import konbini
from payments.models import Credit, Installment, Payment

pytestmark = pytest.mark.django_db


def _record(installment, amount, hhmm):
    return konbini.KonbiniRecord(
        line_no=0,
        record_type="01",
        paid_date=date(2025, 7, 1),
        paid_time=hhmm,
        barcode=documents.barcode_for(installment, amount=amount, deadline=date(2025, 12, 31)),
        user1="",
        user2="",
        stamp_flag=0,
        amount=amount,
        store_chain="010",
        store_name="テスト店",
        store_code="0001",
        transfer_date=None,
        file_date=date(2025, 7, 1),
    )


def _table_writes(table: str) -> tuple[int, int]:
    """Rows this transaction inserted into and updated in a table so far."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = %s",
            [table],
        )
        return cursor.fetchone()


def test_konbini_import_writes_each_payment_once_with_its_allocation_and_credit():
    payer = make_resident()
    first = make_charge(payer, parts=[(date(2025, 6, 30), 5_000)]).installments.get()
    second = make_charge(payer, code="water", parts=[(date(2025, 7, 31), 3_000)]).installments.get()
    records = [
        _record(first, 3_000, time(10, 0)),
        _record(first, 3_000, time(10, 5)),  # 2,000 of it pays the rest, 1,000 becomes credit
        _record(second, 3_000, time(11, 0)),
    ]
    inserted, updated = _table_writes("payments_payment")
    data = konbini.build_result_csv(records, header=True)
    run = batches.execute(batches.submit(kind="konbini_import", data=data, queue=False).pk)
    assert (run.state, run.succeeded_count) == ("succeeded", 3)
    after_inserted, after_updated = _table_writes("payments_payment")
    # Written the old way, each payment was inserted pending, updated by the allocation trigger and
    # updated again when confirmed: 3 inserts and 6 updates.
    assert (after_inserted - inserted, after_updated - updated) == (3, 0)
    payments = list(Payment.objects.filter(channel="konbini").order_by("id"))
    assert [(p.state, p.allocated_amount, p.credit_amount) for p in payments] == [
        ("confirmed", 3_000, 0),
        ("confirmed", 2_000, 1_000),
        ("confirmed", 3_000, 0),
    ]
    assert list(Credit.objects.values_list("amount", flat=True)) == [1_000]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.allocated, second.allocated) == (5_000, 3_000)
    assert selectors.reconciliation_report()["ok"]


def _function_calls(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(calls), 0) FROM pg_stat_xact_user_functions WHERE funcname = %s",
            [name],
        )
        return cursor.fetchone()[0]


def test_billing_run_checks_the_charge_sums_once_set_based_not_per_row():
    quarterly_resident_tax()
    payers = [make_resident() for _ in range(6)]
    with connection.cursor() as cursor:
        # Count PL/pgSQL calls in this transaction (the test database's owner may set this).
        cursor.execute("SET LOCAL track_functions = 'pl'")
    per_row = _function_calls("payments_charge_sum_trigger")
    set_based = _function_calls("payments_check_queued_charges")
    data = assessment_csv([(f"B{i}", p.resident_code, 100_000 + i) for i, p in enumerate(payers)])
    run = batches.execute(batches.submit(kind="billing", data=data, queue=False).pk)
    assert (run.state, run.succeeded_count) == ("succeeded", 6)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT would run
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    # Per-row checks would make one deferred call per charge and per installment (6 + 24).
    assert _function_calls("payments_charge_sum_trigger") - per_row == 0
    assert _function_calls("payments_check_queued_charges") - set_based == 1
    assert Installment.objects.filter(charge__payer__in=payers).count() == 24
    assert selectors.reconciliation_report()["ok"]


def _insert_charge(cursor, payer, amount, parts):
    cursor.execute(
        "INSERT INTO payments_charge (payer_id, revenue_id, fiscal_year, amount, description, "
        "legal_basis, origin, parcel_key, created_at) SELECT %s, id, 2025, %s, '', '', "
        "'test:' || gen_random_uuid(), '', now() FROM payments_revenue "
        "WHERE code = 'resident_tax' RETURNING id",
        [payer.pk, amount],
    )
    charge_id = cursor.fetchone()[0]
    for number, (assessed, part) in enumerate(parts, start=1):
        cursor.execute(
            "INSERT INTO payments_installment (charge_id, number, assessed_amount, amount, "
            "due_on, allocated) VALUES (%s, %s, %s, %s, '2025-06-30', 0)",
            [charge_id, number, assessed, part],
        )
    return charge_id


@pytest.mark.parametrize(
    ("amount", "parts", "message"),
    [
        (10_000, [(5_000, 5_000), (4_000, 4_000)], "sum to 9000 yen, the charge is 10000 yen"),
        (10_000, [(5_000, 5_000), (4_000, 5_000)], "not its assessed amount plus its adjustments"),
    ],
)
def test_inserted_charges_breaking_a_ledger_rule_are_refused_at_commit(amount, parts, message):
    payer = make_resident()
    with pytest.raises(IntegrityError, match=message), transaction.atomic():
        with connection.cursor() as cursor:
            _insert_charge(cursor, payer, amount, parts)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_charge_added_later_to_a_checked_transaction_is_checked_too():
    payer = make_resident()
    with connection.cursor() as cursor:
        _insert_charge(cursor, payer, 10_000, [(10_000, 10_000)])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    with pytest.raises(IntegrityError, match="sum to 9000 yen"), transaction.atomic():
        with connection.cursor() as cursor:
            _insert_charge(cursor, payer, 10_000, [(9_000, 9_000)])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_konbini_import_stages_a_large_file_without_holding_it_whole():
    """The file is parsed and COPY-ed as COPY reads it, from the file object. Read whole and
    parsed into a list of records first, staging held several times the file's size (about
    150 MB per 100,000 lines in the worker); now it holds a piece of the file."""
    import tracemalloc

    line = (
        "01,20260330,1845,EAN91912345012025000000000123456026033100123006,,,0,12300,010,"
        "ファミリーマート 本町店,654321,,20260331\r\n"
    ).encode()
    data = line * 50_000
    run = batches.submit(kind="konbini_import", data=data, queue=False)
    tracemalloc.start()
    try:
        run = batches.execute(run.pk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # No installment has the barcode's key: every line is staged and listed as unmatched.
    assert (run.state, run.total, run.failed_count) == ("succeeded", 50_000, 50_000)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COUNT(DISTINCT line_no) FROM payments_konbini_staging "
            "WHERE batch_run_id = %s",
            [run.pk],
        )
        assert cursor.fetchone() == (50_000, 50_000)
    # The file is 6.5 MB; its bytes alone were more than this when read whole.
    assert peak < len(data) / 3, (peak, len(data))


def test_konbini_chunk_statements_run_without_jit_compilation():
    # The settle step's estimated cost passes jit_above_cost on a city's ledger, and compiling it
    # cost more than running it, once per chunk: the chunk's statements run with JIT off.
    from payments.batches import konbini_import

    payer = make_resident()
    installment = make_charge(payer, parts=[(date(2025, 6, 30), 5_000)]).installments.get()
    data = konbini.build_result_csv([_record(installment, 5_000, time(10, 0))], header=True)
    run = batches.submit(kind="konbini_import", data=data, queue=False)
    seen = []

    def jit_setting(execute, sql, params, many, context):
        if sql == konbini_import.SETTLE_SQL:
            context["cursor"].cursor.execute("SELECT current_setting('jit')")
            seen.append(context["cursor"].cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("SET jit = on")
    with connection.execute_wrapper(jit_setting):
        run = batches.execute(run.pk)
    assert run.state == "succeeded"
    assert seen == ["off"]


def test_konbini_staging_builds_no_record_object_per_line_and_stages_the_same_rows(monkeypatch):
    # Staging checks each line as the parser does but keeps its fields as text: a record object
    # and a dict of barcode fields per line were half the CPU of staging a million lines.
    from payments.batches import konbini_import
    from payments.formats import gs1

    payer = make_resident()
    installment = make_charge(payer, parts=[(date(2025, 6, 30), 5_000)]).installments.get()
    records = [_record(installment, 2_000, time(9, 5)), _record(installment, 3_000, time(23, 59))]
    data = konbini.build_result_csv(records, header=True)
    run = batches.submit(kind="konbini_import", data=data, queue=False)
    built = []
    real_record, real_parse = konbini.KonbiniRecord, gs1.parse
    monkeypatch.setattr(konbini, "KonbiniRecord", lambda **kw: built.append(1) or real_record(**kw))
    monkeypatch.setattr(gs1, "parse", lambda code: built.append(2) or real_parse(code))
    with transaction.atomic():
        assert konbini_import._stage_konbini(run) == 2
    assert built == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT line_no, record_type, paid_on, installment_key, amount, external_ref, "
            "transfer_on FROM payments_konbini_staging WHERE batch_run_id = %s ORDER BY line_no",
            [run.pk],
        )
        staged = cursor.fetchall()
    monkeypatch.undo()
    parsed = konbini.parse_result_csv(data)
    assert staged == [
        (
            n,
            "01",
            date(2025, 7, 1),
            installment.pk,
            r.amount,
            konbini_import.konbini_external_ref(r),
            None,
        )
        for n, r in enumerate(parsed)
    ]
    assert staged[1][5].endswith(":202507012359:0100001")
