"""The fee step: a charge is asked of payments and the case waits until payments says it is paid.

payments (another team's app) may not have landed yet; the first test stands in for its
services module with the agreed interface, the second runs only against the real one.
"""

import sys
import types

import pytest

from procedures import services


class FakeCharge:
    def __init__(self, pk):
        self.pk = pk


@pytest.fixture
def fake_payments(monkeypatch):
    calls = []

    def create_fee_charge(*, payer, amount, description, origin, revenue_code="fee", due_on=None):
        calls.append({"payer": payer, "amount": amount, "origin": origin})
        return FakeCharge(4242)

    module = types.ModuleType("payments.services")
    module.create_fee_charge = create_fee_charge
    monkeypatch.setitem(sys.modules, "payments.services", module)
    return calls


def test_fee_charge_then_settlement_moves_the_case_to_review(
    fake_payments, resident, residence_procedure
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
    assert application.charge_id == 4242 and application.fee_yen == 300
    assert fake_payments == [
        {"payer": resident, "amount": 300, "origin": f"procedures.application:{application.pk}"}
    ]
    for _ in range(2):  # a settlement reported twice moves the case once
        services.fee_settled(origin=application.origin, charge_id=4242)
    application.refresh_from_db()
    assert application.state == "in_review"
    assert (
        application.events.filter(from_state="awaiting_payment", to_state="in_review").count() == 1
    )


def test_fee_flow_against_the_real_payments_app(
    resident, residence_procedure, clerk, django_capture_on_commit_callbacks
):
    payments_services = pytest.importorskip("payments.services")
    from payments.models import Revenue
    from payments.selectors import charge_for_origin, is_settled

    Revenue.objects.get_or_create(
        code="fee",
        defaults={
            "slip_code": "98",
            "name_ja": "手数料",
            "name_en": "Fees",
            "kind": "fee",
            "bears_late_charge": False,
        },
    )
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
