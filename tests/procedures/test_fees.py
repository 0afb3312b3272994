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
