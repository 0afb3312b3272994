"""residents.services.mynumber_for_certificate: clerks and supervisors only, with a purpose,
and every access in the audit log."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from factories_residents import move_in

from cityhall.models import AuditEvent
from residents import services

pytestmark = pytest.mark.django_db

NUMBER = "526018159084"
PURPOSE = "住民票の写しへの記載（受付番号 2026-0000001）"


@pytest.mark.parametrize(("role", "own_request"), [("clerk", True), ("supervisor", False)])
def test_clerk_or_supervisor_gets_the_number_and_the_access_is_audited(request, role, own_request):
    actor = request.getfixturevalue(role)
    resident = move_in(mynumber=NUMBER)
    assert services.mynumber_for_certificate(
        resident=resident, actor=actor, purpose=PURPOSE, own_request=own_request
    ) == (NUMBER)
    event = AuditEvent.objects.get(action="resident.mynumber_for_certificate")
    assert event.actor == actor and event.purpose == PURPOSE
    assert event.object_type == "residents.Resident" and event.object_id == str(resident.pk)
    assert NUMBER not in str(event.details)


@pytest.mark.parametrize("role", ["resident_user", "admin_user"])
def test_other_roles_are_refused_and_nothing_is_logged_as_read(request, role):
    actor = request.getfixturevalue(role)
    resident = move_in(mynumber=NUMBER)
    with pytest.raises(PermissionDenied):
        services.mynumber_for_certificate(resident=resident, actor=actor, purpose=PURPOSE)
    assert not AuditEvent.objects.filter(action="resident.mynumber_for_certificate").exists()


def test_a_counter_request_needs_an_approver_holding_reveal_mynumber(clerk):
    """A clerk alone never reads the number for a counter request."""
    resident = move_in(mynumber=NUMBER)
    with pytest.raises(PermissionDenied):
        services.mynumber_for_certificate(resident=resident, actor=clerk, purpose=PURPOSE)
    assert not AuditEvent.objects.filter(action="resident.mynumber_for_certificate").exists()


def test_a_purpose_is_required(supervisor):
    resident = move_in(mynumber=NUMBER)
    with pytest.raises(ValidationError) as error:
        services.mynumber_for_certificate(resident=resident, actor=supervisor, purpose="  ")
    assert "purpose" in error.value.message_dict
    assert not AuditEvent.objects.filter(action="resident.mynumber_for_certificate").exists()


def test_no_registered_number_gives_an_empty_string_and_is_still_logged(supervisor):
    resident = move_in()
    assert (
        services.mynumber_for_certificate(resident=resident, actor=supervisor, purpose=PURPOSE)
        == ""
    )
    event = AuditEvent.objects.get(action="resident.mynumber_for_certificate")
    assert event.details == {"registered": False}
