import pytest
from django.core.cache import cache

from factories import PASSWORD


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account_with_a_clear_message(client, resident_user):
    cache.clear()
    for _ in range(5):
        response = client.post(
            "/accounts/login/", {"login": resident_user.email, "password": "wrong-password"}
        )
        assert "ログイン失敗が連続しています" not in response.content.decode()
    response = client.post("/accounts/login/", {"login": resident_user.email, "password": PASSWORD})
    body = response.content.decode()
    assert "ログイン失敗が連続しています" in body
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_correct_password_logs_in_before_the_limit(client, resident_user):
    cache.clear()
    client.post("/accounts/login/", {"login": resident_user.email, "password": "wrong-password"})
    response = client.post("/accounts/login/", {"login": resident_user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(resident_user.pk)
