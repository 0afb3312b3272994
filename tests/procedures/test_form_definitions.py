import copy
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from factories_procedures import RESIDENCE_FORM, make_procedure

from procedures import formschema, services
from procedures.models import FormDefinition


def with_field(**changes):
    definition = copy.deepcopy(RESIDENCE_FORM)
    definition["fields"][0].update(changes)
    return definition


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        ({"field": []}, "$: 'fields' is a required property"),
        (with_field(type="colour"), "$.fields[0].type:"),
        (with_field(max_length="forty"), "$.fields[0].max_length:"),
        (with_field(label={"en": "Name"}), "$.fields[0].label: 'ja' is a required property"),
        (with_field(id="Name!"), "$.fields[0].id:"),
        (
            with_field(show_if={"field": "nowhere", "equals": "x"}),
            "$.fields[0].show_if.field: refers to unknown field 'nowhere'",
        ),
        (
            with_field(prefill="shoe_size"),
            "$.fields[0].prefill: unknown prefill source 'shoe_size'",
        ),
        (with_field(id="purpose"), "$.fields[4].id: duplicate field id 'purpose'"),
        (with_field(min_value=3), "$.fields[0]: value ranges apply to number fields only"),
        (with_field(pattern="("), "$.fields[0].pattern: not a regular expression"),
        (with_field(type="mynumber", prefill=None), "$.fields[0]"),
    ],
)
def test_invalid_definition_is_rejected_with_the_failing_path(definition, path):
    problems = formschema.definition_problems(definition)
    assert problems, "the definition should be invalid"
    assert any(p.startswith(path) for p in problems), problems


def test_the_seeded_style_definition_is_valid():
    assert formschema.definition_problems(RESIDENCE_FORM) == []


def test_saving_an_invalid_draft_names_the_path(db, admin_user):
    procedure = make_procedure()
    with pytest.raises(ValidationError) as exc:
        services.save_draft_form(
            procedure=procedure, definition=with_field(type="colour"), actor=admin_user
        )
    assert any("$.fields[0].type" in m for m in exc.value.message_dict["definition"])
    assert procedure.forms.count() == 1


def test_a_clerk_cannot_save_a_form(db, clerk):
    procedure = make_procedure()
    with pytest.raises(Exception, match="管理者"):
        services.save_draft_form(procedure=procedure, definition=RESIDENCE_FORM, actor=clerk)


def test_published_version_cannot_be_edited_by_the_service(db, admin_user):
    procedure = make_procedure()
    published = procedure.forms.get()
    with pytest.raises(ValidationError, match="公開済み"):
        services.update_form(form=published, definition=with_field(max_length=10), actor=admin_user)
    published.refresh_from_db()
    assert published.definition["fields"][0]["max_length"] == 40


def test_published_version_cannot_be_edited_in_the_database(db):
    procedure = make_procedure()
    with pytest.raises(DatabaseError, match="published"), transaction.atomic():
        FormDefinition.objects.filter(procedure=procedure).update(definition={"fields": []})
    with pytest.raises(DatabaseError, match="published"), transaction.atomic():
        FormDefinition.objects.filter(procedure=procedure).delete()
    assert FormDefinition.objects.get(procedure=procedure).definition == RESIDENCE_FORM


def test_new_draft_then_publish_keeps_old_applications_on_their_version(db, admin_user, resident):
    procedure = make_procedure()
    v1 = procedure.forms.get()
    application = services.start_application(
        procedure=procedure, resident=resident, user=resident.user
    )
    draft = services.save_draft_form(
        procedure=procedure, definition=with_field(max_length=20), actor=admin_user
    )
    assert draft.version == 2
    services.publish_form(form=draft, actor=admin_user)
    application.refresh_from_db()
    assert application.form_id == v1.pk
    newer = services.start_application(procedure=procedure, resident=resident, user=resident.user)
    assert newer.form.version == 2


def test_admin_page_shows_the_failing_path(client, admin_user):
    procedure = make_procedure()
    client.force_login(admin_user)
    bad = json.dumps(with_field(type="colour"))
    response = client.post(
        f"/staff/admin/procedures/{procedure.slug}/draft/", {"definition": bad, "save": "1"}
    )
    assert response.status_code == 400
    assert "$.fields[0].type" in response.content.decode()
    assert procedure.forms.count() == 1


def test_admin_page_saves_previews_and_publishes(client, admin_user):
    procedure = make_procedure()
    client.force_login(admin_user)
    good = json.dumps(with_field(max_length=12), ensure_ascii=False)
    response = client.post(
        f"/staff/admin/procedures/{procedure.slug}/draft/", {"definition": good, "save": "1"}
    )
    assert response.status_code == 302
    draft = procedure.forms.get(version=2)
    preview = client.get(f"/staff/admin/forms/{draft.pk}/preview/")
    assert "使いみち" in preview.content.decode()
    client.post(f"/staff/admin/forms/{draft.pk}/publish/")
    draft.refresh_from_db()
    assert draft.published_at is not None


def test_a_clerk_cannot_open_the_form_admin(client, clerk):
    client.force_login(clerk)
    assert client.get("/staff/admin/procedures/").status_code == 403
