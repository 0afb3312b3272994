"""The fee step: a charge is asked of payments and the case waits until payments says it is paid.

Both tests run against the real payments app: a broken import of it fails them, never skips them.
"""

import pytest

from payments import services as payments_services
from payments.models import Revenue
from payments.selectors import charge_for_origin, is_settled
from procedures import services


@pytest.fixture
def fee_revenue(db):
    revenue, _ = Revenue.objects.get_or_create(
        code="fee",
        defaults={
            "slip_code": "98",
            "name_ja": "手数料",
            "name_en": "Fees",
            "kind": "fee",
            "bears_late_charge": False,
        },
    )
    return revenue


def test_fee_charge_then_settlement_moves_the_case_to_review(
    fee_revenue, resident, residence_procedure
):
    residence_procedure.fee_yen = 300
    residence_procedure.fee_rule = "fixed"
    residence_procedure.save()
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    services.submit_application(
        application=application, actor=resident.user, answers={"purpose": "x"}
    )
    application.refresh_from_db()
    assert application.state == "awaiting_payment"
    charge = charge_for_origin(f"procedures.application:{application.pk}")
    assert charge is not None and charge.payer == resident and charge.amount == 300
    assert application.charge_id == charge.pk and application.fee_yen == 300
    for _ in range(2):  # a settlement reported twice moves the case once
        services.fee_settled(origin=application.origin, charge_id=charge.pk)
    application.refresh_from_db()
    assert application.state == "in_review"
    assert (
        application.events.filter(from_state="awaiting_payment", to_state="in_review").count() == 1
    )


def test_fee_flow_against_the_real_payments_app(
    fee_revenue, resident, residence_procedure, clerk, django_capture_on_commit_callbacks
):
    residence_procedure.fee_yen = 300
    residence_procedure.fee_rule = "fixed"
    residence_procedure.save()
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    services.submit_application(
        application=application, actor=resident.user, answers={"purpose": "x"}
    )
    application.refresh_from_db()
    charge = charge_for_origin(application.origin)
    assert charge is not None and charge.pk == application.charge_id and charge.amount == 300
    assert application.state == "awaiting_payment"
    with django_capture_on_commit_callbacks(execute=True):
        payments_services.record_counter_payment(
            payer=resident,
            amount=300,
            clerk=clerk,
            installment_ids=list(charge.installments.values_list("pk", flat=True)),
        )
    charge.refresh_from_db()
    assert is_settled(charge)
    application.refresh_from_db()
    assert application.state == "in_review"


def _konbini_file(installment, kind: str, *, amount: int = 300) -> bytes:
    from datetime import date, time

    from payments import documents
    from payments.formats import konbini

    record = konbini.KonbiniRecord(
        line_no=0,
        record_type=kind,
        paid_date=date(2026, 4, 1),
        paid_time=time(9, 30),
        barcode=documents.barcode_for(installment, amount=amount, deadline=None),
        user1="",
        user2="",
        stamp_flag=0,
        amount=amount,
        store_chain="010",
        store_name="テスト店",
        store_code="0001",
        transfer_date=date(2026, 4, 10) if kind == "02" else None,
        file_date=date(2026, 4, 1),
    )
    return konbini.build_result_csv([record], header=True)


def _import(data: bytes) -> None:
    from payments import batches

    batches.execute(batches.submit(kind="konbini_import", data=data, queue=False).pk)


@pytest.mark.parametrize("later", ["03", "02"])
def test_a_provisional_konbini_record_does_not_release_the_case_until_it_is_final(
    later, fee_revenue, resident, residence_procedure, django_capture_on_commit_callbacks
):
    """速報 (01) pays the fee on the statement at once, but the case waits for the 確報 (02);
    a 速報取消 (03) leaves the case waiting for payment and the charge open."""
    residence_procedure.fee_yen = 300
    residence_procedure.fee_rule = "fixed"
    residence_procedure.save()
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    services.submit_application(
        application=application, actor=resident.user, answers={"purpose": "x"}
    )
    charge = charge_for_origin(application.origin)
    installment = charge.installments.get()
    with django_capture_on_commit_callbacks(execute=True):
        _import(_konbini_file(installment, "01"))
    application.refresh_from_db()
    installment.refresh_from_db()
    assert installment.allocated == 300  # the resident's statement shows it paid
    assert application.state == "awaiting_payment"

    with django_capture_on_commit_callbacks(execute=True):
        _import(_konbini_file(installment, later))
    application.refresh_from_db()
    charge.refresh_from_db()
    if later == "03":
        assert application.state == "awaiting_payment"
        assert charge.settled_at is None and not is_settled(charge)
    else:
        assert application.state == "in_review"
        assert charge.settled_at is not None
        assert application.events.filter(to_state="in_review").count() == 1
