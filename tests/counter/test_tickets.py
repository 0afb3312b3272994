import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone
from factories_counter import CounterFactory, ServiceFactory, TicketFactory

from counter import services
from counter.models import Ticket, TicketEvent
from factories import TOTP_SECRET, UserFactory

TOKYO = ZoneInfo("Asia/Tokyo")


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TOKYO)


def test_daily_numbering_restarts_each_day_and_per_service(service_a):
    service_b = ServiceFactory(code="B")
    monday, tuesday = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
    first = services.issue_ticket(service=service_a, now=at(monday, 9))
    second = services.issue_ticket(service=service_a, now=at(monday, 9, 5))
    other_service = services.issue_ticket(service=service_b, now=at(monday, 9, 6))
    next_day = services.issue_ticket(service=service_a, now=at(tuesday, 8, 31))
    assert [first.label, second.label, other_service.label, next_day.label] == [
        "A-001",
        "A-002",
        "B-001",
        "A-001",
    ]
    assert next_day.business_date == tuesday
    assert first.token != next_day.token and len(first.token) >= 20
    assert TicketEvent.objects.filter(kind="issued").count() == 4


def test_the_database_refuses_a_second_ticket_with_the_same_daily_number(service_a):
    TicketFactory(service=service_a, number=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(service=service_a, number=7)


def test_closed_service_issues_no_ticket(service_a):
    service_a.active = False
    service_a.save()
    with pytest.raises(ValidationError):
        services.issue_ticket(service=service_a)
    assert Ticket.objects.count() == 0


def test_clerk_moves_a_ticket_through_its_states(desk, service_a, clerk):
    ticket = services.issue_ticket(service=service_a)
    called = services.call_next(counter=desk, clerk=clerk)
    assert called.pk == ticket.pk and called.state == "called" and called.counter == desk
    services.recall(ticket=called, clerk=clerk)
    services.start_service(ticket=called, clerk=clerk)
    done = services.finish(ticket=called, clerk=clerk)
    assert done.state == "done" and done.finished_at >= done.started_at >= done.called_at
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["issued", "called", "recalled", "started", "done"]
    with pytest.raises(ValidationError):
        services.recall(ticket=done, clerk=clerk)
    assert services.call_next(counter=desk, clerk=clerk) is None


def test_a_counter_holds_one_ticket_at_a_time(desk, service_a, clerk):
    services.issue_ticket(service=service_a)
    services.issue_ticket(service=service_a)
    services.call_next(counter=desk, clerk=clerk)
    with pytest.raises(ValidationError):
        services.call_next(counter=desk, clerk=clerk)
    assert Ticket.objects.filter(state="waiting").count() == 1


def test_no_show_closes_the_ticket(desk, service_a, clerk):
    services.issue_ticket(service=service_a)
    ticket = services.call_next(counter=desk, clerk=clerk)
    ticket = services.mark_no_show(ticket=ticket, clerk=clerk)
    assert ticket.state == "no_show" and ticket.finished_at is not None


def test_transfer_keeps_the_place_in_line_and_goes_to_the_chosen_counter(desk, service_a, clerk):
    service_b = ServiceFactory(code="B")
    desk_b1 = CounterFactory(number=11, services=[service_b])
    desk_b2 = CounterFactory(number=12, services=[service_b])
    # Half an hour ago, but never before today's midnight: a ticket of yesterday would not be
    # called today (this test failed between 00:00 and 00:30 in Tokyo).
    now = timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    first_at = max(now - dt.timedelta(minutes=30), midnight)
    services.issue_ticket(service=service_a, now=first_at)
    waiting_b = services.issue_ticket(service=service_b, now=first_at + dt.timedelta(minutes=25))
    ticket = services.call_next(counter=desk, clerk=clerk)
    successor = services.transfer(ticket=ticket, clerk=clerk, service=service_b, to_counter=desk_b2)
    ticket.refresh_from_db()
    assert ticket.state == "transferred"
    assert successor.service == service_b and successor.queued_at == ticket.queued_at
    # desk_b1 may not take a ticket sent to desk_b2; it gets the ordinary one.
    assert services.call_next(counter=desk_b1, clerk=clerk).pk == waiting_b.pk
    assert services.call_next(counter=desk_b2, clerk=clerk).pk == successor.pk


def test_transfer_to_a_counter_without_the_service_is_refused(desk, service_a, clerk):
    service_b = ServiceFactory(code="B")
    other = CounterFactory(number=21, services=[service_a])
    services.issue_ticket(service=service_a)
    ticket = services.call_next(counter=desk, clerk=clerk)
    with pytest.raises(ValidationError) as error:
        services.transfer(ticket=ticket, clerk=clerk, service=service_b, to_counter=other)
    assert "to_counter" in error.value.message_dict
    ticket.refresh_from_db()
    assert ticket.state == "called"


def test_resident_cannot_call_tickets(desk, service_a, resident_user):
    services.issue_ticket(service=service_a)
    with pytest.raises(PermissionDenied):
        services.call_next(counter=desk, clerk=resident_user)
    assert Ticket.objects.get().state == "waiting"


def test_ticket_history_is_append_only(service_a):
    ticket = services.issue_ticket(service=service_a)
    event = TicketEvent.objects.get(ticket=ticket)
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        TicketEvent.objects.filter(pk=event.pk).update(to_state="done")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        TicketEvent.objects.filter(pk=event.pk).delete()


def test_call_next_api_refuses_residents_and_clerks_without_mfa(
    client, desk, service_a, resident_user, clerk_without_mfa
):
    services.issue_ticket(service=service_a)
    for user in (resident_user, clerk_without_mfa):
        client.force_login(user)
        response = client.post(f"/api/counter/counters/{desk.pk}/call-next/")
        assert response.status_code == 403
    assert Ticket.objects.get().state == "waiting"


def test_call_next_api_for_a_clerk(client, clerk, desk, service_a):
    services.issue_ticket(service=service_a)
    client.force_login(clerk)
    response = client.post(f"/api/counter/counters/{desk.pk}/call-next/")
    assert response.status_code == 200
    assert response.json()["label"] == "A-001" and response.json()["counter"] == 1
    ticket_id = response.json()["id"]
    assert client.post(f"/api/counter/tickets/{ticket_id}/done/").json()["state"] == "done"
    assert client.post(f"/api/counter/counters/{desk.pk}/call-next/").status_code == 204


def _run_concurrently(jobs):
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # reported through results, asserted by the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_twenty_clerks_calling_at_once_call_each_ticket_exactly_once():
    service = ServiceFactory(code="A")
    tickets = [services.issue_ticket(service=service) for _ in range(20)]
    desks = [CounterFactory(number=100 + i, services=[service]) for i in range(20)]
    clerks = []
    for _ in range(20):
        user = UserFactory(role="clerk")
        TOTP.activate(user, TOTP_SECRET)
        clerks.append(user)

    def caller(desk, user):
        def call():
            client = Client()
            client.force_login(user)
            response = client.post(f"/api/counter/counters/{desk.pk}/call-next/")
            return response.status_code, response.json()["id"]

        return call

    results = _run_concurrently([caller(d, u) for d, u in zip(desks, clerks, strict=True)])
    assert all(isinstance(r, tuple) and r[0] == 200 for r in results), results
    called_ids = sorted(ticket_id for _status, ticket_id in results)
    assert called_ids == sorted(t.pk for t in tickets)
    events = list(TicketEvent.objects.filter(kind="called").values_list("ticket_id", flat=True))
    assert sorted(events) == called_ids
    assert set(Ticket.objects.values_list("state", flat=True)) == {"called"}
    assert Ticket.objects.values("counter").distinct().count() == 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_kiosks_never_share_a_number():
    service = ServiceFactory(code="A")
    results = _run_concurrently(
        [lambda: services.issue_ticket(service=service).number for _ in range(12)]
    )
    assert sorted(results) == list(range(1, 13))
