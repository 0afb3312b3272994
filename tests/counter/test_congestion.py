import datetime as dt
import json

import pytest
from django.utils import timezone
from factories_counter import CounterFactory, ResidentFactory, TicketFactory

from counter import selectors, services
from counter.congestion import estimate_wait_minutes, typical_service_minutes
from counter.models import Ticket


@pytest.mark.parametrize(
    ("minutes", "waiting", "open_counters", "expected"),
    [
        (10.0, 0, 2, 0),
        (10.0, 4, 2, 20),
        (5.0, 4, 2, 10),
        (7.0, 3, 2, 11),  # 10.5 rounds up
        (10.0, 3, 0, None),  # no desk open
        (10.0, 0, 0, None),
    ],
)
def test_estimate_wait_minutes(minutes, waiting, open_counters, expected):
    assert (
        estimate_wait_minutes(service_minutes=minutes, waiting=waiting, open_counters=open_counters)
        == expected
    )


def test_default_minutes_until_enough_tickets_are_finished_today():
    assert (
        typical_service_minutes(finished_today=2, mean_seconds_today=60, default_minutes=12) == 12
    )
    assert (
        typical_service_minutes(finished_today=3, mean_seconds_today=300, default_minutes=12) == 5
    )


def _finished_today(service, desk, *, minutes: int, count: int = 3):
    now = timezone.now()
    for i in range(count):
        TicketFactory(
            service=service,
            number=900 + i,
            state="done",
            counter=None,
            issued_at=now - dt.timedelta(hours=2),
            called_at=now - dt.timedelta(hours=1),
            started_at=now - dt.timedelta(hours=1),
            finished_at=now - dt.timedelta(hours=1) + dt.timedelta(minutes=minutes),
        )


def _row(code="A"):
    return next(row for row in selectors.congestion() if row["code"] == code)


def test_estimated_wait_follows_todays_service_times(service_a, desk):
    CounterFactory(number=2, services=[service_a])
    for _ in range(4):
        services.issue_ticket(service=service_a)
    # Early in the day: the default of 10 minutes × 4 waiting ÷ 2 desks.
    assert _row()["estimated_wait_minutes"] == 20
    _finished_today(service_a, desk, minutes=5)
    assert _row()["estimated_wait_minutes"] == 10
    for ticket in Ticket.objects.filter(state="done"):
        ticket.finished_at = ticket.started_at + dt.timedelta(minutes=15)
        ticket.save(update_fields=["finished_at"])
    row = _row()
    assert row["service_minutes"] == 15.0
    assert row["estimated_wait_minutes"] == 30


def test_closed_desks_give_no_estimate(service_a):
    CounterFactory(number=3, services=[service_a], active=False)
    services.issue_ticket(service=service_a)
    row = _row()
    assert row["waiting"] == 1 and row["open_counters"] == 0
    assert row["estimated_wait_minutes"] is None


def test_congestion_json_hides_who_holds_the_tickets(client, service_a, desk, clerk):
    resident = ResidentFactory(family_name="秘密", given_name="太郎", resident_code="98765432109")
    first = services.issue_ticket(service=service_a, resident=resident)
    waiting = services.issue_ticket(service=service_a, resident=resident)
    services.call_next(counter=desk, clerk=clerk)
    response = client.get("/api/counter/status/")
    assert response.status_code == 200
    body = response.content.decode()
    data = json.loads(body)
    service = data["services"][0]
    assert service["waiting"] == 1
    assert service["now_serving"] == [{"number": "A-001", "counter": 1, "state": "called"}]
    assert set(service) == {
        "code",
        "name_ja",
        "name_en",
        "waiting",
        "now_serving",
        "open_counters",
        "service_minutes",
        "estimated_wait_minutes",
    }
    for secret in (
        "秘密",
        "太郎",
        "98765432109",
        first.token,
        waiting.token,
        "resident",
        clerk.email,
    ):
        assert secret not in body
    # The hall pages built from the same data carry no identity either.
    for url in ("/counter/status/", "/counter/display/", "/counter/status/board/"):
        page = client.get(url).content.decode()
        assert "秘密" not in page and first.token not in page


def test_public_pages_show_the_waiting_count(client, service_a, desk):
    services.issue_ticket(service=service_a)
    services.issue_ticket(service=service_a)
    for url in ("/counter/status/", "/counter/display/"):
        response = client.get(url)
        assert response.status_code == 200
        assert 'data-waiting="2"' in response.content.decode()


def test_typical_wait_by_hour_uses_the_same_weekday_of_the_last_eight_weeks(service_a):
    today = timezone.localdate()

    def past(days_ago: int, hour: int, wait_minutes: int, number: int):
        day = today - dt.timedelta(days=days_ago)
        issued = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 10)))
        TicketFactory(
            service=service_a,
            business_date=day,
            number=number,
            state="no_show",
            issued_at=issued,
            called_at=issued + dt.timedelta(minutes=wait_minutes),
            finished_at=issued + dt.timedelta(minutes=wait_minutes + 3),
        )

    past(7, 10, 20, 1)
    past(14, 10, 40, 1)
    past(14, 14, 5, 2)
    past(63, 10, 300, 1)  # nine weeks ago: outside the window
    past(8, 10, 300, 1)  # another weekday
    chart = next(c for c in selectors.typical_wait_by_hour(today) if c["code"] == "A")
    assert chart["points"] == [{"hour": 10, "minutes": 30}, {"hour": 14, "minutes": 5}]
    assert len(chart["bars"]) == 2 and chart["bars"][0].height > chart["bars"][1].height


def test_portal_and_staff_dashboard_link_to_the_counter(client, clerk_client, supervisor):
    assert "/counter/status/" in client.get("/").content.decode()
    dashboard = clerk_client.get("/staff/").content.decode()
    # Statistics need counter.view_counter_stats, which clerks do not have.
    assert "/staff/counter/" in dashboard and "/staff/counter/stats/" not in dashboard
    clerk_client.force_login(supervisor)
    assert "/staff/counter/stats/" in clerk_client.get("/staff/").content.decode()


def test_status_page_in_english(client, service_a, desk):
    client.cookies["django_language"] = "en"
    body = client.get("/counter/status/", headers={"accept-language": "en"}).content.decode()
    assert "Counter waiting times" in body and "Certificates" in body
