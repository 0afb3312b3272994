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
        assert "しばらくログインできません" not in response.content.decode()
    response = client.post("/accounts/login/", {"login": resident_user.email, "password": PASSWORD})
    body = response.content.decode()
    # The lockout says how long to wait (the 5-minute window of the rate limit).
    assert "しばらくログインできません。5分ほど待ってから" in body
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_correct_password_logs_in_before_the_limit(client, resident_user):
    cache.clear()
    client.post("/accounts/login/", {"login": resident_user.email, "password": "wrong-password"})
    response = client.post("/accounts/login/", {"login": resident_user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(resident_user.pk)


def test_the_lockout_wait_is_the_longest_window_of_the_rate_limit():
    from cityhall.accounts import lockout_minutes

    assert lockout_minutes("10/m/ip,5/5m/key") == 5
    assert lockout_minutes("20/h/ip") == 60
    assert lockout_minutes("3/30s/key") == 1
