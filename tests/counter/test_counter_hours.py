"""Counter pages show the opening hours and the closed days, and the hall closes on them; the
kiosk is for everyone, so it carries no sign-in links."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from factories_counter import CounterFactory, TicketFactory

from cityhall.dates import closures_between
from counter import selectors

TOKYO = ZoneInfo("Asia/Tokyo")
LABOUR_THANKSGIVING = dt.datetime(2026, 11, 23, 10, 0, tzinfo=TOKYO)  # a Monday, 勤労感謝の日
ORDINARY_TUESDAY = dt.datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)


@pytest.fixture
def office_desk(db, service_a):
    """A desk with the usual hours that does not open on closed days."""
    return CounterFactory(
        number=5,
        services=[service_a],
        opens_at=dt.time(8, 30),
        closes_at=dt.time(17, 15),
        open_on_closed_days=False,
    )


def test_the_hall_is_closed_on_a_national_holiday(office_desk, service_a):
    assert selectors.open_counters_by_service(LABOUR_THANKSGIVING) == {}
    row = next(r for r in selectors.congestion(LABOUR_THANKSGIVING) if r["code"] == "A")
    assert row["open_counters"] == 0 and row["estimated_wait_minutes"] is None
    with translation.override("ja"):
        hours = selectors.opening_hours(LABOUR_THANKSGIVING)
    assert hours["state"] == "closed_today" and hours["today_closure"] == "勤労感謝の日"
    # The next day is an ordinary working day.
    assert selectors.open_counters_by_service(ORDINARY_TUESDAY) == {service_a.pk: 1}
    assert selectors.opening_hours(ORDINARY_TUESDAY)["state"] == "open"


def test_a_holiday_desk_opens_on_closed_days(office_desk, service_a):
    CounterFactory(
        number=6, services=[service_a], opens_at=dt.time(9), closes_at=dt.time(12)
    )  # open_on_closed_days=True by the factory
    assert selectors.open_counters_by_service(LABOUR_THANKSGIVING) == {service_a.pk: 1}
    hours = selectors.opening_hours(LABOUR_THANKSGIVING)
    assert hours["state"] == "open" and hours["holiday_desk_opens"] == dt.time(9)


def test_before_opening_and_after_closing(office_desk):
    morning = ORDINARY_TUESDAY.replace(hour=7)
    evening = ORDINARY_TUESDAY.replace(hour=18)
    assert selectors.opening_hours(morning)["state"] == "before_opening"
    assert selectors.opening_hours(evening)["state"] == "after_closing"
    assert selectors.open_counters_by_service(evening) == {}


def test_kiosk_and_status_show_the_hours_and_the_coming_closed_days(client, office_desk):
    from django.utils import timezone

    today = timezone.localdate()
    with translation.override("ja"):
        coming = closures_between(today, today + dt.timedelta(days=selectors.CLOSED_DAYS_AHEAD))
    for url in ("/counter/kiosk/", "/counter/status/"):
        body = client.get(url).content.decode()
        assert "窓口の受付時間" in body, url
        assert "8:30〜17:15" in body, url
        assert "土曜日・日曜日・祝日、年末年始（12月29日〜1月3日）" in body, url
        for _first, _last, reason in coming:
            assert reason in body, (url, reason)


def test_kiosk_has_no_sign_in_or_sign_up_links(client, office_desk):
    body = client.get("/counter/kiosk/").content.decode()
    assert "/accounts/login/" not in body and "/accounts/signup/" not in body
    assert "ログイン" not in body and "新規登録" not in body
    # The language switch stays: visitors may need English.
    assert 'name="language"' in body


def test_kiosk_in_english_has_one_language(client, office_desk):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = client.get("/counter/kiosk/").content.decode()
    assert "Opening hours" in body and "Weekdays" in body
    assert "窓口の受付時間" not in body and "ご用件を選んで" not in body


def test_the_desk_waiting_count_is_a_fragment_the_desk_page_polls(clerk_client, desk, service_a):
    page = clerk_client.get(f"/staff/counter/{desk.pk}/").content.decode()
    assert f'hx-get="/staff/counter/{desk.pk}/waiting/"' in page and 'hx-trigger="every' in page
    TicketFactory(service=service_a)
    TicketFactory(service=service_a)
    fragment = clerk_client.get(f"/staff/counter/{desk.pk}/waiting/").content.decode()
    assert "この窓口でお待ちの方：2 人" in fragment and "<html" not in fragment


def test_residents_cannot_poll_a_desk(resident_client, desk):
    assert resident_client.get(f"/staff/counter/{desk.pk}/waiting/").status_code == 403


def test_hall_display_puts_the_latest_call_first(client, clerk, desk, service_a):
    from counter import services

    for _ in range(3):
        services.issue_ticket(service=service_a)
    services.call_next(counter=desk, clerk=clerk)
    body = client.get("/counter/display/").content.decode()
    assert 'class="hall-now-number" data-ticket="A-001">A-001<' in body
    assert "1番窓口へお越しください" in body


def test_the_status_api_gives_the_hours_and_closures_too(client, office_desk):
    from django.utils import timezone

    data = client.get("/api/counter/status/", HTTP_ACCEPT_LANGUAGE="en").json()
    hours = data["hours"]
    assert hours["opens"] == "08:30:00" and hours["closes"] == "17:15:00"
    assert hours["state"] in {"open", "before_opening", "after_closing", "closed_today"}
    today = timezone.localdate()
    with translation.override("en"):
        expected = closures_between(today, today + dt.timedelta(days=selectors.CLOSED_DAYS_AHEAD))
    assert [(c["first"], c["last"], c["reason"]) for c in hours["closures"]] == [
        (first.isoformat(), last.isoformat(), reason) for first, last, reason in expected
    ]
