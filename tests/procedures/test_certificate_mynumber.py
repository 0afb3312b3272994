"""個人番号 on 住民票の写し: printed only when the applicant asks for it and only for the person
and their household (住民基本台帳法12条5項), each access audited."""

import pytest
from factories_procedures import approved_application, pdf_text
from factories_residents import move_in

from cityhall.models import AuditEvent
from procedures import services, tasks
from procedures.certificates import issuing
from procedures.models import Certificate

HEAD_NUMBER = "526018159084"
SPOUSE_NUMBER = "301661318600"


@pytest.fixture
def head(db, resident_user):
    head = move_in(given_name="太郎", mynumber=HEAD_NUMBER)
    head.user = resident_user
    head.save(update_fields=["user"])
    return head


@pytest.fixture
def spouse(head):
    return move_in(
        given_name="花子",
        given_name_kana="ハナコ",
        sex="female",
        household=head.household,
        relationship="妻",
        mynumber=SPOUSE_NUMBER,
    )


def audited(action="resident.mynumber_for_certificate"):
    return AuditEvent.objects.filter(action=action)


def test_the_number_is_printed_only_when_asked(head, spouse, residence_procedure, clerk):
    plain = approved_application(
        head, residence_procedure, clerk, {"purpose": "勤務先", "members": [str(head.pk)]}
    )
    text = pdf_text(issuing.issue_certificate(application_id=plain.pk))
    assert "太郎" in text
    assert HEAD_NUMBER not in text and "個人番号" not in text
    assert not audited().exists()

    asked = approved_application(
        head,
        residence_procedure,
        clerk,
        {
            "purpose": "年金の手続",
            "members": [str(head.pk), str(spouse.pk)],
            "include": ["mynumber"],
        },
    )
    certificate = issuing.issue_certificate(application_id=asked.pk)
    text = pdf_text(certificate)
    assert "個人番号" in text and HEAD_NUMBER in text and SPOUSE_NUMBER in text
    # The public check shows that the certificate is genuine, never the numbers.
    assert HEAD_NUMBER not in str(certificate.summary)
    events = audited().order_by("id")
    assert [e.object_id for e in events] == [str(head.pk), str(spouse.pk)]
    assert {e.actor for e in events} == {clerk}
    assert all(asked.reference in e.purpose for e in events)


def test_at_the_counter_the_confirmed_applicant_gets_the_number(
    head, residence_procedure, clerk, supervisor
):
    application = services.start_application(
        procedure=residence_procedure, resident=head, user=None, filed_by=clerk
    )
    services.confirm_at_counter(
        application=application,
        clerk=clerk,
        answers={
            "name": head.full_name,
            "address": head.household.address.label,
            "members": [str(head.pk)],
            "include": ["mynumber"],
            "purpose": "年金の手続",
        },
    )
    # A second person holding reveal_mynumber approves (tests/procedures/test_mynumber_four_eyes.py)
    services.decide(application=application, target="approved", clerk=supervisor)
    text = pdf_text(issuing.issue_certificate(application_id=application.pk))
    assert HEAD_NUMBER in text
    assert audited().get().object_id == str(head.pk)


def test_someone_elses_account_cannot_get_the_number_printed(
    head, residence_procedure, clerk, other_resident_user
):
    application = approved_application(
        head,
        residence_procedure,
        clerk,
        {"purpose": "不明", "members": [str(head.pk)], "include": ["mynumber"]},
        user=other_resident_user,
    )
    assert tasks.issue_certificate(application.pk) is None
    application.refresh_from_db()
    assert not Certificate.objects.filter(application=application).exists()
    assert application.needs_attention and "個人番号" in application.certificate_error
    assert not audited().exists()
