from __future__ import annotations

import pytest
import yaml
from factories_residents import move_in
from openapi_spec_validator import validate

from cityhall.models import AuditEvent
from residents.models import Movement, Resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(resident_user, yamada_family):
    head = yamada_family[0]
    Resident.objects.filter(pk=head.pk).update(user=resident_user)
    return head


def test_resident_reads_their_own_record_without_mynumber(resident_client, linked):
    response = resident_client.get("/api/residents/me/")
    assert response.status_code == 200
    data = response.json()
    assert data["resident_code"] == linked.resident_code
    assert [m["full_name"] for m in data["members"]] == ["山田 太郎", "山田 花子", "山田 一郎"]
    assert "mynumber_masked" not in data and "registered_domicile" not in data
    assert resident_client.get(f"/api/residents/{linked.pk}/").status_code == 200


def test_resident_cannot_read_another_resident(resident_client, linked):
    other = move_in(address="栄町1丁目1番1号", mynumber="526018159084")
    response = resident_client.get(f"/api/residents/{other.pk}/")
    assert response.status_code == 404
    assert "526018159084" not in response.content.decode()
    assert other.given_name not in response.content.decode()
    assert resident_client.get("/api/residents/", {"q": "ヤマダ"}).status_code == 403
    assert resident_client.get(f"/api/residents/{other.pk}/history/").status_code == 403
    response = resident_client.post(
        f"/api/residents/{other.pk}/movements/",
        {"kind": "move_out", "notified_on": "2024-01-01", "effective_on": "2024-01-01"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Resident.objects.get(pk=other.pk).status == "current"


def test_unlinked_resident_gets_404_for_me(resident_client):
    assert resident_client.get("/api/residents/me/").status_code == 404


def test_staff_search_detail_with_purpose_and_history(clerk_client, clerk, yamada_family):
    head = yamada_family[0]
    found = clerk_client.get("/api/residents/", {"q": "ﾔﾏﾀﾞ ｲﾁ"}).json()
    assert [r["full_name"] for r in found] == ["山田 一郎"]
    # Without a purpose staff may not read the record: refused (403), and nothing is audited.
    assert clerk_client.get(f"/api/residents/{head.pk}/").status_code == 403
    assert not AuditEvent.objects.filter(action="residents.resident_viewed").exists()
    detail = clerk_client.get(f"/api/residents/{head.pk}/", {"purpose": "review"})
    assert detail.status_code == 200 and detail.json()["mynumber_masked"] == ""
    assert AuditEvent.objects.get(action="residents.resident_viewed").purpose == "申請審査"
    history = clerk_client.get(f"/api/residents/{head.pk}/history/").json()
    assert [m["kind"] for m in history] == ["move_in"]


def test_staff_registers_relocation_through_the_api(clerk_client, yamada_family):
    head, spouse, child = yamada_family
    response = clerk_client.post(
        f"/api/residents/{head.pk}/movements/",
        {
            "kind": "relocation",
            "notified_on": "2024-05-02",
            "effective_on": "2024-05-01",
            "address": "旭町1丁目3番5号",
            "members": [head.pk, spouse.pk, child.pk],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert [m["kind"] for m in response.json()] == ["relocation"] * 3
    assert Movement.objects.filter(kind="relocation").count() == 3


def test_api_refuses_move_out_of_head_with_the_message(clerk_client, yamada_family):
    head = yamada_family[0]
    response = clerk_client.post(
        f"/api/residents/{head.pk}/movements/",
        {"kind": "move_out", "notified_on": "2024-05-02", "effective_on": "2024-05-01"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "新しい世帯主" in response.json()["new_head"][0]


def test_schema_with_resident_endpoints_is_valid_openapi(client, resident_user):
    client.force_login(resident_user)
    spec = yaml.safe_load(client.get("/api/schema/").content)
    validate(spec)
    assert "/api/residents/me/" in spec["paths"]
    assert "/api/residents/{id}/movements/" in spec["paths"]
