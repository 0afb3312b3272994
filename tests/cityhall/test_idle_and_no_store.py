"""Responses with personal data are never cached (one middleware), and a
session ends after 15 idle minutes for staff and 30 for residents (configurable)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cityhall.middleware import LAST_SEEN_SESSION_KEY

START = datetime(2026, 4, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
MINUTE = 60


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_pages_api_answers_and_refusals_are_not_stored(client, clerk, resident_user):
    client.force_login(resident_user)
    for path in ("/my/", "/api/me/", "/my/applications/", "/staff/", "/api/residents/"):
        response = client.get(path)
        assert _no_store(response), (path, response.status_code, response.get("Cache-Control"))
    client.force_login(clerk)
    for path in ("/staff/", "/staff/residents/", "/api/applications/", "/no-such-page/"):
        response = client.get(path)
        assert _no_store(response), (path, response.status_code, response.get("Cache-Control"))


@pytest.mark.django_db
def test_public_data_keeps_its_own_caching(client):
    from gis.models import GarbageDistrict

    district = GarbageDistrict.objects.create(code="G-1", name_ja="本町", name_en="Honcho")
    response = client.get(f"/garbage/{district.code}.ics")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=3600"


@pytest.mark.django_db
def test_a_staff_session_ends_after_fifteen_idle_minutes(client, clerk):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(clerk)
        assert client.get("/staff/").status_code == 200
        # Working: each request restarts the clock.
        for _ in range(3):
            clock.shift(14 * MINUTE)
            assert client.get("/staff/").status_code == 200
        clock.shift(15 * MINUTE + 30)
        response = client.get("/staff/residents/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=/staff/residents/")
        page = client.get(response["Location"])
        assert "一定時間操作がなかったため、ログアウトしました" in page.content.decode()
        # The session is gone, not just refused once.
        assert "_auth_user_id" not in client.session
        assert client.get("/staff/").status_code == 302


@pytest.mark.django_db
def test_a_resident_session_ends_after_thirty_idle_minutes(client, resident_user):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(resident_user)
        assert client.get("/my/").status_code == 200
        clock.shift(29 * MINUTE)
        assert client.get("/my/").status_code == 200
        clock.shift(30 * MINUTE + 30)
        response = client.get("/api/me/")
        assert response.status_code == 401
        assert "ログアウトしました" in response.json()["detail"]
        assert client.get("/my/").status_code == 302


@pytest.mark.django_db
def test_idle_limits_come_from_the_settings(client, clerk, settings):
    settings.STAFF_IDLE_MINUTES = 5
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(clerk)
        assert client.get("/staff/").status_code == 200
        assert client.session[LAST_SEEN_SESSION_KEY] == int(START.timestamp())
        clock.shift(5 * MINUTE + 1)
        assert client.get("/staff/").status_code == 302
