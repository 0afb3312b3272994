"""/my/ served as a page kept in Redis while nothing it shows has changed: the shell is not
rendered again, and what differs per request (the CSRF token, the counter's live panel, a
pending message) is the request's own. A change by raw SQL to a row a panel shows is on the
very next page."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection
from django.test import Client, RequestFactory
from factories_payments import make_charge, make_resident

pytestmark = pytest.mark.django_db

SUMMARY_KEY = "counter:dashboard-summary"


def _templates(response) -> list[str]:
    return [template.name for template in response.templates]


def _token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]*)"', html).group(1)


def test_an_unchanged_dashboard_renders_only_its_live_panel(client, resident_user):
    make_charge(make_resident(user=resident_user), parts=[(date(2030, 6, 30), 12_000)])
    cache.set(SUMMARY_KEY, {"waiting": 3, "open": True, "longest_wait": 10}, 60)
    client.force_login(resident_user)
    first = client.get("/my/")
    assert "base.html" in _templates(first)
    second = client.get("/my/")
    assert second.status_code == 200
    # The page around the panels is not rendered again; the counter's panel (no fingerprint)
    # is, so a new congestion summary shows at once.
    assert "base.html" not in _templates(second)
    assert "cityhall/my_dashboard.html" not in _templates(second)
    assert _templates(second) == ["counter/_dashboard_panel.html"]
    assert "12,000" in second.content.decode()
    # Same words, headers and security policy as the rendered page.
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
    assert strip.sub("", second.content.decode()) == strip.sub("", first.content.decode())
    for header in ("Content-Security-Policy", "Cache-Control", "X-Frame-Options"):
        assert second[header] == first[header]
    assert "no-store" in second["Cache-Control"]


def test_a_raw_sql_write_to_a_panels_row_shows_on_the_next_page(client, resident_user):
    payer = make_resident(user=resident_user)
    charge = make_charge(payer, parts=[(date(2030, 6, 30), 12_000)])
    client.force_login(resident_user)
    client.get("/my/")
    assert "base.html" not in _templates(client.get("/my/"))  # the stored page
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payments_revenue SET name_ja = name_ja || '（第二）' WHERE id = %s",
            [charge.revenue_id],
        )
    after = client.get("/my/")
    assert "（第二）" in after.content.decode()
    assert "base.html" in _templates(after)  # a new key: rendered, then stored again
    assert "（第二）" in client.get("/my/").content.decode()


def test_the_stored_page_carries_each_visitors_own_csrf_token(resident_user):
    make_charge(make_resident(user=resident_user), parts=[(date(2030, 6, 30), 12_000)])
    first = Client(enforce_csrf_checks=True)
    first.force_login(resident_user)
    second = Client(enforce_csrf_checks=True)
    # Signing in sets last_login, a field of the account the key names: both sign in first.
    second.force_login(resident_user)
    first.get("/my/")
    page = second.get("/my/")
    assert "base.html" not in _templates(page)  # served from the store
    token = _token(page.content.decode())
    assert "\x00" not in page.content.decode()
    # The token works for this visitor's own forms (the sign-out form on every page).
    assert second.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert second.get("/my/").status_code == 302


def test_the_counters_panel_follows_a_new_summary_on_the_stored_page(client, resident_user):
    make_charge(make_resident(user=resident_user), parts=[(date(2030, 6, 30), 12_000)])
    client.force_login(resident_user)
    cache.set(SUMMARY_KEY, {"waiting": 3, "open": True, "longest_wait": 10}, 60)
    assert "3 人" in client.get("/my/").content.decode()
    cache.set(SUMMARY_KEY, {"waiting": 17, "open": True, "longest_wait": 40}, 60)
    page = client.get("/my/")
    assert "base.html" not in _templates(page)
    assert "17 人" in page.content.decode() and "約 40 分" in page.content.decode()
    # A summary that hides the panel takes its section away, the rest stays.
    cache.set(SUMMARY_KEY, {}, 60)
    hidden = client.get("/my/").content.decode()
    assert "counter-congestion-summary" not in hidden
    assert "12,000" in hidden


def test_a_pending_message_is_shown_on_a_rendered_page(client, resident_user):
    make_charge(make_resident(user=resident_user), parts=[(date(2030, 6, 30), 12_000)])
    client.force_login(resident_user)
    client.get("/my/")
    client.get("/my/")
    # A message left by the previous request (the default storage keeps it in a cookie).
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies[storage.cookie_name] = storage._encode(
        [Message(constants.SUCCESS, "手続きを受け付けました。")]
    )
    page = client.get("/my/")
    assert "手続きを受け付けました。" in page.content.decode()
    # Shown once: the next page (stored or not) does not repeat it.
    assert "手続きを受け付けました。" not in client.get("/my/").content.decode()
