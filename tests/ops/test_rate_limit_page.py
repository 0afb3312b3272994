"""The page a person sees when a rate limit stops them (429) or when the limits' store is down
(503): what happened, how long to wait (also as Retry-After), what still works, in Japanese and
in English."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client

from ops_helpers import free_port


def reset_password(client: Client, email: str, **headers):
    return client.post("/accounts/password/reset/", {"email": email}, **headers)


@pytest.mark.django_db
def test_too_many_password_resets_get_a_429_page_saying_how_long_to_wait(resident_user):
    caches["default"].clear()
    client = Client()
    # allauth: "reset_password": 5 a minute for one address.
    for _ in range(5):
        assert reset_password(client, resident_user.email).status_code in (200, 302)
    response = reset_password(client, resident_user.email)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    page = response.content.decode()
    assert "試行回数が多すぎます" in page
    assert '<div class="messages" role="alert"><p class="message message-warning">' in page
    assert "1 分ほど待ってから、もう一度お試しください。" in page
    assert '<a class="button" href="/accounts/password/reset/">もう一度試す</a>' in page

    english = reset_password(client, resident_user.email, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 429
    text = english.content.decode()
    assert "Too many attempts" in text
    assert "Please wait about 1 minute, then try again." in text
    assert "試行回数" not in text


@pytest.mark.django_db
def test_limits_store_down_gives_a_503_page_with_what_still_works(settings, resident_user):
    # A Redis nobody listens on: the limits cannot count, so sign-in is refused (fails closed).
    settings.CACHES = {
        "default": {
            "BACKEND": "cityhall.cache.DegradingRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/1",
            "OPTIONS": settings.CACHE_OPTIONS,
        }
    }
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": resident_user.email, "password": "wrong-password"}
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    page = response.content.decode()
    assert "ただいまログインと登録を受け付けられません" in page
    assert "入力された内容は使っていません。" in page
    assert '<a href="/procedures/">手続きの案内</a>' in page
    assert '<a href="/map/">地図</a>' in page
    assert "_auth_user_id" not in client.session

    english = client.post(
        "/accounts/login/",
        {"login": resident_user.email, "password": "wrong-password"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    text = english.content.decode()
    assert "Nothing you entered has been used." in text
    assert '<a href="/procedures/">Procedure guides</a>' in text
    assert '<a href="/map/">Map</a>' in text
