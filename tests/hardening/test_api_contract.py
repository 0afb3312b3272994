"""The API says what it does: one test per class of disagreement schemathesis found between the
OpenAPI schema and the answers (test_api_fuzz.py runs schemathesis itself).

Classes: responses that did not match their schema; error statuses the schema did not list;
requests outside the schema that were accepted; requests inside it that were refused.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from factories_procedures import make_procedure, make_resident

from procedures import services as procedure_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def operation(schema: dict, path: str, method: str = "get") -> dict:
    return schema["paths"][path][method]


def response_schema(schema: dict, path: str, method: str = "get", status: str = "200") -> dict:
    found = operation(schema, path, method)["responses"][status]["content"]["application/json"]
    found = found["schema"]
    while "$ref" in found:
        found = schema["components"]["schemas"][found["$ref"].rsplit("/", 1)[1]]
    return found


@pytest.fixture
def linked(resident_user):
    return make_resident(user=resident_user)


@pytest.fixture
def draft(linked, resident_user):
    procedure = make_procedure(slug="inu", name_ja="犬の登録")
    return procedure_services.start_application(
        procedure=procedure, resident=linked, user=resident_user
    )


# -- Responses that violated their schema -------------------------------------------------------


def test_case_events_are_a_list_and_documented_as_one(client, resident_user, draft, schema):
    client.force_login(resident_user)
    body = client.get(f"/api/applications/{draft.pk}/events/").json()
    assert isinstance(body, list) and body[0]["to_state"] == "draft"
    documented = response_schema(schema, "/api/applications/{id}/events/")
    assert documented["type"] == "array"


def test_a_residents_own_record_matches_the_documented_record(
    client, resident_user, linked, schema
):
    client.force_login(resident_user)
    body = client.get(f"/api/residents/{linked.pk}/").json()
    assert "mynumber_masked" not in body
    documented = response_schema(schema, "/api/residents/{id}/")
    assert set(documented["required"]) <= set(body)
    assert "mynumber_masked" in documented["properties"]  # staff get it: documented, optional


def test_clock_times_match_their_documented_pattern(client, schema):
    body = client.get("/api/counter/status/").json()
    opens = body["hours"]["opens"] if "hours" in body else None
    hours = schema["components"]["schemas"]["OpeningHours"]["properties"]["opens"]
    documented = next(s for s in hours.get("anyOf", [hours]) if s.get("type") == "string")
    assert "format" not in documented  # RFC 3339 full-time would demand an offset
    assert re.fullmatch(documented["pattern"], "08:30:00")
    assert re.fullmatch(documented["pattern"], "08:30")
    assert not re.fullmatch(documented["pattern"], "25:00")
    if opens is not None:
        assert re.fullmatch(documented["pattern"], opens)


def test_entries_and_equipment_document_their_empty_values_as_null(schema):
    entry = schema["components"]["schemas"]["Entry"]["properties"]["won_slot"]
    unit = schema["components"]["schemas"]["Equipment"]["properties"]["unit"]
    assert entry.get("nullable") or {"type": "null"} in entry.get("anyOf", [])
    assert unit.get("nullable") or {"type": "null"} in unit.get("anyOf", [])


# -- Error statuses the schema did not list -----------------------------------------------------


def test_every_operation_documents_the_errors_it_can_answer(schema):
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            statuses = set(op["responses"])
            assert "403" in statuses, (method, path)
            if {} not in op.get("security", [{}]):
                assert "401" in statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if method == "post":
                assert "409" in statuses, (method, path)
            if "requestBody" in op or any(p["in"] == "query" for p in op.get("parameters", [])):
                assert "400" in statuses, (method, path)
    assert "/api/gis/geocode/" in schema["paths"]
    assert "404" in operation(schema, "/api/gis/geocode/")["responses"]


def test_an_unknown_api_url_is_a_json_404(client, resident_user):
    client.force_login(resident_user)
    response = client.get("/api/taxes/runs/abc/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"] == "見つかりません。"


def test_a_non_numeric_id_is_404_not_500(client, supervisor):
    client.force_login(supervisor)
    response = client.post("/api/payments/batch-runs/null,null/retry/")
    assert response.status_code == 404


def test_error_bodies_match_the_shared_error_schema(client, schema):
    response = client.get("/api/residents/me/")
    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert "ErrorDetail" in schema["components"]["schemas"]


# -- Requests outside the schema that were accepted ---------------------------------------------


@pytest.mark.parametrize("query", ["offset=abc", "limit=-1", "limit=0", "offset=1.5"])
def test_a_malformed_page_parameter_is_refused(client, query, schema):
    response = client.get(f"/api/procedures/?{query}")
    assert response.status_code == 400
    name = query.split("=")[0]
    assert response.json()[name] == [
        "0 以上の整数を入力してください。"
        if name == "offset" or "-" in query or "." in query
        else "1 以上の整数を入力してください。"
    ]
    documented = {
        p["name"]: p["schema"] for p in operation(schema, "/api/procedures/")["parameters"]
    }
    assert documented["limit"]["minimum"] == 1 and documented["offset"]["minimum"] == 0


def test_page_errors_speak_english_to_english_readers(client):
    response = client.get("/api/procedures/?offset=abc", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["offset"] == ["Enter a whole number, 0 or more."]


def test_an_unknown_state_filter_is_refused(client, clerk, draft):
    client.force_login(clerk)
    assert client.get("/api/applications/", {"state": "AAA"}).status_code == 400
    assert client.get("/api/applications/", {"assignee": "x"}).status_code == 400
    found = client.get("/api/applications/", {"state": "draft"})
    assert [row["id"] for row in found.json()["results"]] == [draft.pk]


def test_a_nul_character_in_the_url_is_400_not_500(client, resident_user):
    client.force_login(resident_user)
    response = client.get("/api/facilities/", {"area": "a\x00b"})
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_an_empty_birth_date_is_refused(client, clerk):
    client.force_login(clerk)
    response = client.get("/api/residents/", {"birth_date": ""})
    assert response.status_code == 400 and "birth_date" in response.json()


def test_a_postal_code_outside_its_pattern_is_refused(client, schema):
    assert client.get("/api/postal-codes/1 9 0 0 0 1 1 x/").status_code == 400
    parameter = next(
        p
        for p in operation(schema, "/api/postal-codes/{code}/")["parameters"]
        if p["name"] == "code"
    )
    pattern = parameter["schema"]["pattern"]
    for typed in ("1900011", "190-0011", "〒190-0011", "１９０－００１１"):
        assert re.fullmatch(pattern, typed), typed
    assert not re.fullmatch(pattern, "190001")


def test_an_off_site_return_url_is_refused_by_its_documented_pattern(client, schema):
    body = schema["components"]["schemas"]["PaymentCreateRequest"]["properties"]["return_url"]
    assert not re.match(body["pattern"], "//evil.example")
    assert not re.match(body["pattern"], "/\\evil.example")
    assert re.match(body["pattern"], "/my/statement/")


# -- Requests inside the schema that were refused -----------------------------------------------


def test_saving_answers_of_a_submitted_case_is_a_conflict(client, resident_user, draft):
    procedure_services.submit_application(
        application=draft, actor=resident_user, answers={"purpose": "x"}
    )
    client.force_login(resident_user)
    response = client.post(
        f"/api/applications/{draft.pk}/answers/",
        {"answers": {"purpose": "y"}},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "この申請は今は変更できません。"


def test_staff_without_a_resident_record_may_not_start_an_application(client, clerk):
    make_procedure(slug="inu", name_ja="犬の登録")
    client.force_login(clerk)
    response = client.post(
        "/api/applications/", {"procedure": "inu"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "住民の記録がありません。"


def test_staff_reading_a_record_without_a_purpose_is_refused(client, clerk, linked):
    client.force_login(clerk)
    response = client.get(f"/api/residents/{linked.pk}/")
    assert response.status_code == 403
    assert response.json()["detail"] == "利用目的を選んでください。"
    assert client.get(f"/api/residents/{linked.pk}/", {"purpose": "x"}).status_code == 400


def test_a_bbox_with_its_corners_swapped_is_the_same_box(client, schema):
    from gis.models import Layer

    layer = Layer.objects.filter(visibility="public").first()
    if layer is None:
        layer = Layer.objects.create(
            slug="shelters",
            name_ja="避難所",
            name_en="Shelters",
            kind="facilities",
            department="防災課",
            visibility="public",
        )
    ordered = client.get(f"/api/gis/layers/{layer.slug}/features/", {"bbox": "139,35,140,36"})
    swapped = client.get(f"/api/gis/layers/{layer.slug}/features/", {"bbox": "140,36,139,35"})
    assert ordered.status_code == swapped.status_code == 200
    assert ordered.content == swapped.content
    assert client.get(f"/api/gis/layers/{layer.slug}/features/", {"bbox": "1,2"}).status_code == 400


def test_documented_ranges_and_choices_are_the_ones_the_views_keep(schema):
    days = next(
        p
        for p in operation(schema, "/api/facilities/availability/")["parameters"]
        if p["name"] == "days"
    )
    assert (days["schema"]["minimum"], days["schema"]["maximum"]) == (1, 31)
    to = schema["components"]["schemas"]["TransitionRequest"]["properties"]["to"]
    assert "submitted" in enum_of(schema, to)
    year = schema["components"]["schemas"]["DeclarationRequest"]["properties"]["fiscal_year"]
    from taxes import residenttax

    assert enum_of(schema, year) == residenttax.known_fiscal_years()


def enum_of(schema: dict, node: dict) -> list:
    """The enum of a property, inline, by $ref or behind allOf (drf-spectacular writes each)."""
    if "enum" in node:
        return node["enum"]
    if "$ref" in node:
        return enum_of(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    return enum_of(schema, node["allOf"][0])


def test_signing_what_needs_no_signature_is_a_conflict(client, resident_user, draft):
    client.force_login(resident_user)
    response = client.post(f"/api/applications/{draft.pk}/signing/")
    assert response.status_code == 409


def test_the_client_fixture_is_anonymous():
    assert Client().get("/api/me/").status_code == 403


def test_filters_outside_their_documented_values_are_refused(client, resident_user, linked):
    assert client.get("/api/procedures/", {"life_event": "xxx"}).status_code == 400
    client.force_login(resident_user)
    assert client.get("/api/payments/statement/", {"resident": "abc"}).status_code == 400
    assert client.get("/api/facilities/availability/", {"from": ""}).status_code == 400


def test_a_missing_booking_is_a_json_404(client, resident_user):
    client.force_login(resident_user)
    response = client.get("/api/facilities/my/bookings/999999/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_the_tax_simulation_takes_json_only(client):
    form = client.post("/api/taxes/simulate/", {"fiscal_year": "2025", "age": "40"})
    assert form.status_code == 415


def test_a_body_that_is_not_a_json_object_is_400_not_500(client, clerk):
    client.force_login(clerk)
    response = client.post("/api/facilities/staff/blocks/", [1, 2], content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == "本文は JSON のオブジェクト（{…}）で送ってください。"


def test_api_bodies_are_json_only_as_the_schema_says(client, resident_user, linked, schema):
    """Form encodings parse loosely ("" is absent, "on" is true), so they are not accepted
    where the schema says JSON; only the batch run, which carries a file, takes multipart."""
    procedure = make_procedure(slug="inu", name_ja="犬の登録")
    client.force_login(resident_user)
    form = client.post("/api/applications/", {"procedure": "inu"})
    assert form.status_code == 415
    assert not procedure.applications.exists()
    as_json = client.post(
        "/api/applications/", {"procedure": "inu"}, content_type="application/json"
    )
    assert as_json.status_code == 201
    for path, operations in schema["paths"].items():
        for method, described in operations.items():
            if not isinstance(described, dict) or "requestBody" not in described:
                continue
            types = set(described["requestBody"]["content"])
            if path == "/api/payments/batch-runs/":
                assert types == {"multipart/form-data"}, types
            else:
                assert types == {"application/json"}, (method, path, types)


# -- The payments webhook: its signature is its credential --------------------------------------


def test_an_unsigned_webhook_is_401_and_documents_its_signature(client, schema):
    from payments import webhooks
    from payments.providers import stripe_checkout

    response = client.post("/api/payments/webhooks/sandbox/", {}, content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"]
    assert response.json()["detail"] == "signature header is missing"
    described = operation(schema, "/api/payments/webhooks/{provider}/", "post")
    assert "401" in described["responses"] and "400" in described["responses"]
    schemes = schema["components"]["securitySchemes"]
    headers = {
        schemes[name]["name"] for requirement in described["security"] for name in requirement
    }
    assert headers == {webhooks.SIGNATURE_HEADER, stripe_checkout.SIGNATURE_HEADER}


def test_a_well_signed_webhook_that_is_not_a_notification_is_400(client):
    from payments import webhooks
    from payments.sandbox.provider import DEV_WEBHOOK_SECRET

    body = b'{"id": "evt_1"}'
    response = client.post(
        "/api/payments/webhooks/sandbox/",
        body,
        content_type="application/json",
        headers={webhooks.SIGNATURE_HEADER: webhooks.signature_header(DEV_WEBHOOK_SECRET, body)},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("malformed notification")


def test_a_boolean_is_a_json_boolean_not_a_number(client):
    from taxes import residenttax

    body = {"fiscal_year": residenttax.known_fiscal_years()[-1], "age": 20}
    ok = client.post(
        "/api/taxes/simulate/", {**body, "working_student": True}, content_type="application/json"
    )
    assert ok.status_code == 200, ok.content
    for loose in (0, 1, "yes", "true"):
        refused = client.post(
            "/api/taxes/simulate/",
            {**body, "working_student": loose},
            content_type="application/json",
        )
        assert refused.status_code == 400, loose
        assert "working_student" in refused.json()


def test_an_empty_date_in_a_batch_run_form_is_refused_not_dropped(client, supervisor):
    from payments.models import BatchRun

    client.force_login(supervisor)
    response = client.post(
        "/api/payments/batch-runs/", {"kind": BatchRun.Kind.choices[0][0], "on_date": ""}
    )
    assert response.status_code == 400
    assert "on_date" in response.json()
    assert not BatchRun.objects.exists()


def test_a_string_is_a_json_string_not_a_number(client, resident_user, linked):
    client.force_login(resident_user)
    member = {"name": "山田 花子", "name_kana": 123, "relation": "lives"}
    body = {"kind": "group", "name": "山田会", "name_kana": "ヤマダカイ", "members": [member]}
    refused = client.post(
        "/api/facilities/my/registrations/", body, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "name_kana" in str(refused.json()["members"]), refused.json()
    body["members"] = [{**member, "name_kana": "ヤマダ ハナコ"}]
    as_text = client.post(
        "/api/facilities/my/registrations/", body, content_type="application/json"
    )
    assert "name_kana" not in str(as_text.json())  # refused, if at all, for the group size
