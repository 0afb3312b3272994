"""The facilities panel on /my/ is cached in Redis and never stale after a
registration (cityhall.dashboard keys it on the rows it shows)."""

import re

import pytest
from factories_facilities import individual, resident_account

pytestmark = pytest.mark.django_db


def _my(client) -> str:
    """/my/ without its CSRF tokens (masked anew on every page)."""
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get("/my/").content.decode()
    )


def test_the_facilities_panel_appears_with_a_registration_at_once(client):
    user = resident_account()
    client.force_login(user)
    before = _my(client)
    assert "施設の予約" not in before
    assert _my(client) == before  # served from the cache
    individual(user)
    after = _my(client)
    assert "施設の予約" in after and "これからの予約はありません" in after
