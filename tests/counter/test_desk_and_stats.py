import csv
import datetime as dt
import io

from django.utils import timezone
from factories_counter import TicketFactory

from counter import services
from counter.models import Ticket


def test_clerk_calls_the_next_ticket_from_the_desk_page(clerk_client, desk, service_a):
    services.issue_ticket(service=service_a)
    page = clerk_client.get(f"/staff/counter/{desk.pk}/")
    assert page.status_code == 200 and "次の方を呼ぶ" in page.content.decode()
    response = clerk_client.post(
        f"/staff/counter/{desk.pk}/call-next/", headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="desk"' in body and "A-001" in body
    ticket = Ticket.objects.get()
    assert ticket.state == "called"
    clerk_client.post(f"/staff/counter/{desk.pk}/done/", {"ticket": ticket.pk})
    ticket.refresh_from_db()
    assert ticket.state == "done"


def test_transfer_form_errors_are_shown_next_to_the_field(clerk_client, clerk, desk, service_a):
    services.issue_ticket(service=service_a)
    ticket = services.call_next(counter=desk, clerk=clerk)
    response = clerk_client.post(
        f"/staff/counter/{desk.pk}/transfer/", {"ticket": ticket.pk, "service": ""}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "error-summary" in body and "転送先の業務を選んでください" in body
    ticket.refresh_from_db()
    assert ticket.state == "called"


def _history(service):
    day = timezone.localdate() - dt.timedelta(days=1)
    base = timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))
    for number, (wait, served, state) in enumerate(
        [(10, 5, "done"), (20, 15, "done"), (30, None, "no_show"), (0, 10, "done")], start=1
    ):
        called = base + dt.timedelta(minutes=wait)
        TicketFactory(
            service=service,
            business_date=day,
            number=number,
            state=state,
            issued_at=base,
            called_at=called,
            started_at=called if served else None,
            finished_at=called + dt.timedelta(minutes=served or 2),
        )
    return day


def test_supervisor_downloads_statistics_as_csv(client, supervisor, service_a):
    day = _history(service_a)
    client.force_login(supervisor)
    page = client.get("/staff/counter/stats/")
    assert page.status_code == 200 and "住民票・証明書" in page.content.decode()
    response = client.get(f"/staff/counter/stats.csv?date_from={day}&date_to={day}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "業務日" and len(rows) == 2
    assert rows[1] == [str(day), "A", "住民票・証明書", "4", "3", "1", "0", "15.0", "10.0", "25.0"]


def test_statistics_refuse_clerks_without_the_manager_permission(clerk_client):
    assert clerk_client.get("/staff/counter/stats/").status_code == 403
    assert clerk_client.get("/staff/counter/stats.csv").status_code == 403


def test_statistics_form_rejects_a_reversed_range(client, supervisor):
    client.force_login(supervisor)
    response = client.get("/staff/counter/stats/?date_from=2026-03-10&date_to=2026-03-01")
    assert "終了日は開始日以降の日付にしてください" in response.content.decode()
