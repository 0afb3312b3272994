import pytest
import yaml
from openapi_spec_validator import validate


@pytest.mark.django_db
def test_api_schema_is_valid_openapi_3(client, resident_user):
    client.force_login(resident_user)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    spec = yaml.safe_load(response.content)
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert "/api/me/" in spec["paths"]


@pytest.mark.django_db
def test_api_docs_page_loads_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert "cdn" not in response.content.decode().lower()


@pytest.mark.django_db
def test_me_endpoint_names_the_roles(client, clerk):
    client.force_login(clerk)
    assert client.get("/api/me/").json()["roles"] == ["clerk"]
    client.logout()
    assert client.get("/api/me/").status_code == 403
