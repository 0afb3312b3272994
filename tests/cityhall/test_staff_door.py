import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_resident_gets_403_on_staff_pages(client, resident_user):
    client.force_login(resident_user)
    response = client.get("/staff/")
    assert response.status_code == 403
    assert "職員" in response.content.decode()


@pytest.mark.django_db
def test_staff_without_mfa_is_redirected_to_mfa_setup(client, clerk_without_mfa):
    client.force_login(clerk_without_mfa)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    final = client.get("/staff/", follow=True)
    assert "二要素認証（認証アプリ）を設定してください" in final.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["clerk", "supervisor", "admin_user"])
def test_staff_with_mfa_gets_in(client, request, fixture):
    client.force_login(request.getfixturevalue(fixture))
    response = client.get("/staff/")
    assert response.status_code == 200
    assert "職員ダッシュボード" in response.content.decode()


@pytest.mark.django_db
def test_staff_door_can_be_limited_to_office_networks(client, clerk, settings):
    settings.STAFF_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    client.force_login(clerk)
    assert client.get("/staff/", REMOTE_ADDR="203.0.113.5").status_code == 403
    assert client.get("/staff/", REMOTE_ADDR="10.20.3.4").status_code == 200


@pytest.mark.django_db
def test_staff_without_mfa_cannot_use_the_api(client, clerk_without_mfa):
    client.force_login(clerk_without_mfa)
    response = client.get("/api/residents/")
    assert response.status_code == 403
    assert "二要素認証" in response.json()["detail"]
    assert client.get("/api/me/").status_code == 200


@pytest.mark.django_db
def test_staff_with_mfa_and_residents_use_the_api(client, clerk, resident_user):
    client.force_login(clerk)
    assert client.get("/api/residents/").status_code == 200
    client.force_login(resident_user)
    assert client.get("/api/procedures/").status_code == 200
