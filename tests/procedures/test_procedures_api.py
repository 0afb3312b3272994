import pytest
import yaml
from openapi_spec_validator import validate

from procedures import services


def test_resident_starts_fills_and_submits_through_the_api(client, resident, residence_procedure):
    client.force_login(resident.user)
    created = client.post(
        "/api/applications/", {"procedure": "juminhyo"}, content_type="application/json"
    )
    assert created.status_code == 201
    app_id = created.json()["id"]
    assert created.json()["answers"]["name"] == "山田 太郎"
    bad = client.post(
        f"/api/applications/{app_id}/transitions/",
        {"to": "submitted"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "purpose" in bad.json()
    client.post(
        f"/api/applications/{app_id}/answers/",
        {"answers": {"purpose": "就職"}},
        content_type="application/json",
    )
    ok = client.post(
        f"/api/applications/{app_id}/transitions/",
        {"to": "submitted"},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["state"] == "in_review"
    events = client.get(f"/api/applications/{app_id}/events/").json()
    assert [e["to_state"] for e in events] == ["draft", "submitted", "in_review"]


def test_resident_sees_only_own_applications_and_staff_filter(
    client, resident, other_resident, residence_procedure, clerk
):
    mine = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    theirs = services.start_application(
        procedure=residence_procedure, resident=other_resident, user=other_resident.user
    )
    client.force_login(resident.user)
    ids = [a["id"] for a in client.get("/api/applications/").json()["results"]]
    assert ids == [mine.pk]
    assert client.get(f"/api/applications/{theirs.pk}/").status_code == 404
    client.force_login(clerk)
    staff_ids = {
        a["id"] for a in client.get("/api/applications/", {"state": "draft"}).json()["results"]
    }
    assert staff_ids == {mine.pk, theirs.pk}
    assert client.get("/api/applications/", {"state": "completed"}).json()["results"] == []


def test_disallowed_transition_is_409_and_resident_cannot_approve(
    client, resident, residence_procedure, clerk
):
    application = services.start_application(
        procedure=residence_procedure, resident=resident, user=resident.user
    )
    client.force_login(clerk)
    conflict = client.post(
        f"/api/applications/{application.pk}/transitions/",
        {"to": "approved"},
        content_type="application/json",
    )
    assert conflict.status_code == 409
    services.submit_application(
        application=application, actor=resident.user, answers={"purpose": "x"}
    )
    client.force_login(resident.user)
    denied = client.post(
        f"/api/applications/{application.pk}/transitions/",
        {"to": "approved"},
        content_type="application/json",
    )
    assert denied.status_code == 403
    client.force_login(clerk)
    approved = client.post(
        f"/api/applications/{application.pk}/transitions/",
        {"to": "correction_requested", "comment": "写真を"},
        content_type="application/json",
    )
    assert approved.status_code == 200 and approved.json()["state"] == "correction_requested"


def test_catalogue_and_forms_api(client, residence_procedure, resident):
    listed = client.get("/api/procedures/", {"q": "じゅうみんひょう"}).json()["results"]
    assert listed == []  # kana reading is not the name; the kanji word is
    listed = client.get("/api/procedures/", {"q": "住民票"}).json()["results"]
    assert [p["slug"] for p in listed] == ["juminhyo"]
    client.force_login(resident.user)
    forms = client.get("/api/forms/", {"procedure": "juminhyo"}).json()["results"]
    assert forms[0]["version"] == 1 and forms[0]["definition"]["fields"][0]["id"] == "name"


@pytest.mark.django_db
def test_schema_with_procedures_is_valid(client, resident_user):
    client.force_login(resident_user)
    spec = yaml.safe_load(client.get("/api/schema/").content)
    validate(spec)
    assert "/api/applications/{id}/transitions/" in spec["paths"]
