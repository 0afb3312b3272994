import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from factories_procedures import make_procedure

from notices.models import EventRecord
from procedures import services, workflow
from procedures.models import Application, CaseEvent

ANSWERS = {"purpose": "勤務先に提出", "include": ["relationship"]}


def submitted(resident, procedure):
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    return services.submit_application(
        application=application, actor=resident.user, answers=ANSWERS
    )


def test_start_prefills_from_the_resident_record(resident, residence_procedure):
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    assert application.state == "draft"
    assert application.answers["name"] == "山田 太郎"
    assert application.answers["address"] == resident.household.address.label
    assert application.answers["members"] == [str(resident.pk)]


def test_draft_is_saved_and_resumed_without_validation(resident, residence_procedure):
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    services.save_draft(
        application=application, answers={"purpose": "", "name": "山"}, actor=resident.user
    )
    application.refresh_from_db()
    assert application.answers["name"] == "山"
    assert application.state == "draft"


def test_submit_without_fee_goes_to_review_with_events_and_due_date(resident, residence_procedure):
    application = submitted(resident, residence_procedure)
    assert application.state == "in_review"
    assert application.due_on is not None and application.due_on > application.submitted_at.date()
    moves = list(application.events.values_list("from_state", "to_state"))
    assert moves == [("", "draft"), ("draft", "submitted"), ("submitted", "in_review")]


def test_submit_with_errors_names_the_fields(resident, residence_procedure):
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    with pytest.raises(ValidationError) as exc:
        services.submit_application(
            application=application, actor=resident.user, answers={"purpose": ""}
        )
    assert "purpose" in exc.value.message_dict
    application.refresh_from_db()
    assert application.state == "draft"


def test_a_household_member_outside_the_household_is_refused(
    resident, other_resident, residence_procedure
):
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    with pytest.raises(ValidationError) as exc:
        services.submit_application(
            application=application,
            actor=resident.user,
            answers=ANSWERS | {"members": [str(other_resident.pk)]},
        )
    assert "members" in exc.value.message_dict


def test_disallowed_transition_raises(resident, residence_procedure, clerk):
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    with pytest.raises(workflow.TransitionNotAllowed):
        services.decide(application=application, target="approved", clerk=clerk)
    application.refresh_from_db()
    assert application.state == "draft"
    assert not application.events.filter(to_state="approved").exists()


@pytest.mark.parametrize(
    ("state", "target", "actor"),
    [
        ("draft", "approved", "clerk"),
        ("in_review", "completed", "clerk"),
        ("completed", "in_review", "clerk"),
        ("in_review", "approved", "applicant"),
        ("awaiting_payment", "in_review", "applicant"),
    ],
)
def test_transition_table_refuses(state, target, actor):
    with pytest.raises(workflow.TransitionNotAllowed):
        workflow.check_transition(state, target, actor)


def test_correction_cycle_and_notifications(resident, residence_procedure, clerk):
    application = submitted(resident, residence_procedure)
    with pytest.raises(ValidationError):
        services.decide(
            application=application, target="correction_requested", clerk=clerk, comment=""
        )
    services.decide(
        application=application,
        target="correction_requested",
        clerk=clerk,
        comment="使いみちを詳しく",
    )
    # The applicant is told through the notices app: the event is recorded.
    note = EventRecord.objects.filter(key="procedures.status_changed", user=resident.user).latest(
        "id"
    )
    assert note.context["status"] == "補正依頼中" and note.context["comment"] == "使いみちを詳しく"
    services.submit_application(
        application=application,
        actor=resident.user,
        answers=ANSWERS | {"purpose": "銀行口座の開設"},
    )
    application.refresh_from_db()
    assert application.state == "resubmitted"
    services.decide(
        application=application, target="rejected", clerk=clerk, comment="本人確認ができません"
    )
    application.refresh_from_db()
    assert application.state == "rejected"
    assert application.events.filter(
        from_state="resubmitted", to_state="rejected", actor=clerk
    ).exists()


def test_a_resident_cannot_decide_and_others_cannot_submit(
    resident, other_resident, residence_procedure
):
    application = submitted(resident, residence_procedure)
    with pytest.raises(PermissionDenied):
        services.decide(application=application, target="approved", clerk=resident.user)
    draft = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    with pytest.raises(PermissionDenied):
        services.submit_application(application=draft, actor=other_resident.user, answers=ANSWERS)


def test_database_refuses_unknown_state_and_changed_events(resident, residence_procedure):
    application = submitted(resident, residence_procedure)
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(state="lost")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        CaseEvent.objects.filter(application=application).update(comment="rewritten")


def test_counter_only_procedure_cannot_be_filed_online(resident):
    procedure = make_procedure(counter_only=True)
    with pytest.raises(ValidationError, match="窓口"):
        services.start_application(procedure=procedure, resident=resident, user=resident.user)


def test_clerk_queue_filters_assigns_and_highlights_overdue(
    clerk_client, clerk, resident, residence_procedure
):
    application = submitted(resident, residence_procedure)
    Application.objects.filter(pk=application.pk).update(due_on="2020-01-06")
    page = clerk_client.get("/staff/cases/", {"procedure": "juminhyo"}).content.decode()
    assert application.reference in page and 'class="overdue"' in page
    detail = clerk_client.get(f"/staff/cases/{application.pk}/")
    assert detail.status_code == 200 and "承認" in detail.content.decode()
    clerk_client.post(f"/staff/cases/{application.pk}/", {"action": "assign"})
    mine = clerk_client.get("/staff/cases/", {"assignee": "me"}).content.decode()
    assert application.reference in mine
    other_state = clerk_client.get("/staff/cases/", {"state": "completed"}).content.decode()
    assert application.reference not in other_state
