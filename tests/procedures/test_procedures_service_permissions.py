"""procedures' use cases name the permission they need: casework needs
procedures.change_application, the designer's drafts procedures.change_formdefinition, a
procedure's settings procedures.change_procedure. Staff whose role lacks it are refused, whatever
their role's name; a forgotten actor (None) is refused."""

from __future__ import annotations

import copy

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from factories_procedures import RESIDENCE_FORM

from factories import UserFactory
from procedures import services
from procedures.models import FormDefinition

pytestmark = pytest.mark.django_db


def _take_from(role: str, permission: str) -> None:
    app_label, codename = permission.split(".", 1)
    Group.objects.get(name=role).permissions.remove(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
    )


def _submitted(resident, procedure):
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    return application


def test_casework_refuses_a_clerk_without_change_application(clerk, resident, residence_procedure):
    application = _submitted(resident, residence_procedure)
    _take_from("clerk", "procedures.change_application")
    with pytest.raises(PermissionDenied):
        services.assign(application=application, clerk=clerk)
    with pytest.raises(PermissionDenied):
        services.decide(application=application, target="approved", clerk=clerk)
    with pytest.raises(PermissionDenied):
        services.decide(application=application, target="approved", clerk=None)
    application.refresh_from_db()
    assert application.assignee_id is None


def test_drafts_refuse_an_admin_without_change_formdefinition(residence_procedure):
    admin = UserFactory(role="admin")
    _take_from("admin", "procedures.change_formdefinition")
    before = FormDefinition.objects.filter(procedure=residence_procedure).count()
    with pytest.raises(PermissionDenied):
        services.save_draft_form(
            procedure=residence_procedure,
            definition=copy.deepcopy(RESIDENCE_FORM),
            actor=admin,
        )
    with pytest.raises(PermissionDenied):
        services.save_draft_form(
            procedure=residence_procedure, definition=copy.deepcopy(RESIDENCE_FORM), actor=None
        )
    assert FormDefinition.objects.filter(procedure=residence_procedure).count() == before


def test_settings_refuse_an_admin_without_change_procedure(residence_procedure):
    admin = UserFactory(role="admin")
    _take_from("admin", "procedures.change_procedure")
    with pytest.raises(PermissionDenied):
        services.set_identity_level(procedure=residence_procedure, level="card", actor=admin)


def test_an_admin_with_the_permission_saves_a_draft(residence_procedure):
    admin = UserFactory(role="admin")
    saved = services.save_draft_form(
        procedure=residence_procedure, definition=copy.deepcopy(RESIDENCE_FORM), actor=admin
    )
    assert saved.created_by == admin
