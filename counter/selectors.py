"""Reads of the counter: congestion, a ticket's place in line, the hourly chart and statistics.

Everything public built from here carries numbers only: no names, resident ids or tokens.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Min, Q
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay
from django.utils import timezone

from cityhall.dates import closure_reason, closures_between, is_business_day

from .congestion import bar_chart, estimate_wait_minutes, typical_service_minutes
from .models import Counter, Service, Ticket

State = Ticket.State
HISTORY_WEEKS = 8

_service_time = ExpressionWrapper(
    F("finished_at") - Coalesce("started_at", "called_at"), output_field=DurationField()
)
_wait_time = ExpressionWrapper(F("called_at") - F("issued_at"), output_field=DurationField())


def _seconds(value: dt.timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _open_on(day: dt.date):
    """Active counters that open on this day: every one on a business day, only the holiday
    desks (休日窓口) on a day the hall is closed."""
    counters = Counter.objects.filter(active=True)
    return counters if is_business_day(day) else counters.filter(open_on_closed_days=True)


def open_counters_by_service(now: dt.datetime | None = None) -> dict[int, int]:
    """How many active counters are open now (a day they open, within their hours), per
    service id."""
    local = timezone.localtime(now or timezone.now())
    rows = (
        _open_on(local.date())
        .filter(opens_at__lte=local.time(), closes_at__gt=local.time())
        .values("services")
        .annotate(n=Count("id"))
    )
    return {row["services"]: row["n"] for row in rows if row["services"] is not None}


def service_minutes_today(now: dt.datetime | None = None) -> dict[int, tuple[int, float | None]]:
    """(finished tickets, mean seconds at the desk) per service id for today."""
    today = timezone.localdate(now or timezone.now())
    rows = (
        Ticket.objects.filter(business_date=today, state=State.DONE)
        .values("service")
        .annotate(n=Count("id"), mean=Avg(_service_time))
    )
    return {row["service"]: (row["n"], _seconds(row["mean"])) for row in rows}


def congestion(now: dt.datetime | None = None) -> list[dict]:
    """Per active service: waiting count, numbers now called, estimated wait. Public data."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    services = list(Service.objects.filter(active=True))
    waiting = dict(
        Ticket.objects.filter(business_date=today, state=State.WAITING)
        .values_list("service")
        .annotate(n=Count("id"))
    )
    serving: dict[int, list[dict]] = defaultdict(list)
    for ticket in (
        Ticket.objects.filter(business_date=today, state__in=Ticket.ACTIVE_AT_COUNTER)
        .select_related("service", "counter")
        .order_by("-called_at")
    ):
        serving[ticket.service_id].append(
            {"number": ticket.label, "counter": ticket.counter.number, "state": ticket.state}
        )
    open_counters = open_counters_by_service(now)
    minutes_today = service_minutes_today(now)
    out = []
    for service in services:
        finished, mean_seconds = minutes_today.get(service.pk, (0, None))
        minutes = typical_service_minutes(
            finished_today=finished,
            mean_seconds_today=mean_seconds,
            default_minutes=service.default_service_minutes,
        )
        n_waiting = waiting.get(service.pk, 0)
        n_open = open_counters.get(service.pk, 0)
        out.append(
            {
                "code": service.code,
                "name": service.name,
                "name_ja": service.name_ja,
                "name_en": service.name_en,
                "waiting": n_waiting,
                "now_serving": serving.get(service.pk, []),
                "open_counters": n_open,
                "service_minutes": round(minutes, 1),
                "estimated_wait_minutes": estimate_wait_minutes(
                    service_minutes=minutes, waiting=n_waiting, open_counters=n_open
                ),
            }
        )
    return out


# How far ahead the counter pages list the closed weekdays (holidays, the year-end break).
CLOSED_DAYS_AHEAD = 45


def opening_hours(now: dt.datetime | None = None) -> dict:
    """The hall's hours for the counter pages: weekday hours (earliest opening and latest
    closing of the active counters), whether and why it is closed today, the hours of any
    holiday desk, and the closed weekdays of the coming weeks (holidays, 年末年始)."""
    local = timezone.localtime(now or timezone.now())
    today = local.date()
    counters = Counter.objects.filter(active=True)
    span = counters.aggregate(opens=Min("opens_at"), closes=Max("closes_at"))
    holiday_desks = counters.filter(open_on_closed_days=True).aggregate(
        opens=Min("opens_at"), closes=Max("closes_at")
    )
    open_today = _open_on(today)
    today_span = open_today.aggregate(opens=Min("opens_at"), closes=Max("closes_at"))
    if today_span["opens"] is None:
        state = "closed_today"
    elif local.time() < today_span["opens"]:
        state = "before_opening"
    elif local.time() >= today_span["closes"]:
        state = "after_closing"
    else:
        state = "open"
    return {
        "opens": span["opens"],
        "closes": span["closes"],
        "holiday_desk_opens": holiday_desks["opens"],
        "holiday_desk_closes": holiday_desks["closes"],
        "today": today,
        "today_closure": closure_reason(today),
        "today_opens": today_span["opens"],
        "today_closes": today_span["closes"],
        "state": state,
        "closures": [
            {"first": first, "last": last, "reason": reason}
            for first, last, reason in closures_between(
                today, today + dt.timedelta(days=CLOSED_DAYS_AHEAD)
            )
        ],
    }


def latest_calls(now: dt.datetime | None = None, *, limit: int = 7) -> list[dict]:
    """Today's tickets at a desk, the most recently called first, for the hall display: the
    first is shown across the screen, the rest below it. Numbers and desks only."""
    today = timezone.localdate(now or timezone.now())
    return [
        {"number": ticket.label, "counter": ticket.counter.number, "state": ticket.state}
        for ticket in Ticket.objects.filter(
            business_date=today, state__in=Ticket.ACTIVE_AT_COUNTER, called_at__isnull=False
        )
        .select_related("service", "counter")
        .order_by("-called_at", "-id")[:limit]
    ]


def ticket_by_token(token: str) -> Ticket | None:
    """The ticket a phone page shows; a transferred ticket leads to its successor."""
    ticket = Ticket.objects.select_related("service", "counter").filter(token=token).first()
    seen = 0
    while ticket is not None and ticket.state == State.TRANSFERRED and seen < 10:
        successor = (
            Ticket.objects.select_related("service", "counter")
            .filter(transferred_from=ticket)
            .first()
        )
        if successor is None:
            break
        ticket, seen = successor, seen + 1
    return ticket


def ticket_position(ticket: Ticket, now: dt.datetime | None = None) -> dict:
    """How many are ahead of a waiting ticket and about how long until it is called."""
    if ticket.state != State.WAITING:
        return {"ahead": 0, "estimated_wait_minutes": 0}
    ahead = (
        Ticket.objects.filter(
            service=ticket.service_id, business_date=ticket.business_date, state=State.WAITING
        )
        .filter(Q(queued_at__lt=ticket.queued_at) | Q(queued_at=ticket.queued_at, id__lt=ticket.pk))
        .count()
    )
    finished, mean_seconds = service_minutes_today(now).get(ticket.service_id, (0, None))
    minutes = typical_service_minutes(
        finished_today=finished,
        mean_seconds_today=mean_seconds,
        default_minutes=ticket.service.default_service_minutes,
    )
    return {
        "ahead": ahead,
        "estimated_wait_minutes": estimate_wait_minutes(
            service_minutes=minutes,
            waiting=ahead,
            open_counters=open_counters_by_service(now).get(ticket.service_id, 0),
        ),
    }


def typical_wait_by_hour(today: dt.date | None = None) -> list[dict]:
    """Mean wait (issue → call) per issue hour on this weekday over the last eight weeks, per
    service, aggregated in SQL; with an SVG bar layout for each service."""
    today = today or timezone.localdate()
    rows = (
        Ticket.objects.filter(
            business_date__gte=today - dt.timedelta(weeks=HISTORY_WEEKS),
            business_date__lt=today,
            called_at__isnull=False,
            transferred_from__isnull=True,
        )
        .annotate(weekday=ExtractIsoWeekDay("business_date"), hour=ExtractHour("issued_at"))
        .filter(weekday=today.isoweekday())
        .values("service", "hour")
        .annotate(mean=Avg(_wait_time), n=Count("id"))
        .order_by("service", "hour")
    )
    by_service: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for row in rows:
        by_service[row["service"]].append((row["hour"], (_seconds(row["mean"]) or 0) / 60))
    top = max((value for points in by_service.values() for _h, value in points), default=0.0)
    charts = []
    for service in Service.objects.filter(active=True):
        points = by_service.get(service.pk, [])
        charts.append(
            {
                "code": service.code,
                "name": service.name,
                "points": [{"hour": h, "minutes": round(v)} for h, v in points],
                "bars": bar_chart(points, top=top),
            }
        )
    return charts


def active_ticket_at(counter: Counter) -> Ticket | None:
    return (
        Ticket.objects.select_related("service", "counter", "resident")
        .filter(counter=counter, state__in=Ticket.ACTIVE_AT_COUNTER)
        .first()
    )


def waiting_for_counter(counter: Counter, now: dt.datetime | None = None) -> int:
    today = timezone.localdate(now or timezone.now())
    return (
        Ticket.objects.filter(
            business_date=today,
            state=State.WAITING,
            service__in=counter.services.all(),
        )
        .filter(Q(assigned_counter__isnull=True) | Q(assigned_counter=counter))
        .count()
    )


def recent_at_counter(counter: Counter, *, limit: int = 10) -> list[Ticket]:
    return list(
        Ticket.objects.select_related("service")
        .filter(counter=counter, business_date=timezone.localdate())
        .exclude(state__in=Ticket.ACTIVE_AT_COUNTER)
        .order_by("-finished_at")[:limit]
    )


def tickets_for_resident(resident, *, limit: int = 20) -> list[Ticket]:
    """The resident's counter visits, newest first (for the clerk's 360 view)."""
    return list(
        Ticket.objects.select_related("service", "counter")
        .filter(resident=resident)
        .order_by("-issued_at")[:limit]
    )


def daily_statistics(date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Tickets per service per day with mean wait, mean service time and no-show rate."""
    rows = (
        Ticket.objects.filter(business_date__gte=date_from, business_date__lte=date_to)
        .values("business_date", "service__code", "service__name_ja")
        .annotate(
            issued=Count("id"),
            done=Count("id", filter=Q(state=State.DONE)),
            no_show=Count("id", filter=Q(state=State.NO_SHOW)),
            transferred=Count("id", filter=Q(state=State.TRANSFERRED)),
            mean_wait=Avg(_wait_time, filter=Q(called_at__isnull=False)),
            mean_service=Avg(_service_time, filter=Q(state=State.DONE)),
        )
        .order_by("business_date", "service__code")
    )
    out = []
    for row in rows:
        called = row["done"] + row["no_show"]
        out.append(
            {
                "date": row["business_date"],
                "service": row["service__code"],
                "service_name": row["service__name_ja"],
                "issued": row["issued"],
                "done": row["done"],
                "no_show": row["no_show"],
                "transferred": row["transferred"],
                "mean_wait_minutes": _minutes(row["mean_wait"]),
                "mean_service_minutes": _minutes(row["mean_service"]),
                "no_show_rate": round(100 * row["no_show"] / called, 1) if called else None,
            }
        )
    return out


def _minutes(value: dt.timedelta | None) -> float | None:
    return round(value.total_seconds() / 60, 1) if value is not None else None
