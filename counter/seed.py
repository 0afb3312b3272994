"""Demo counter: four services, eight desks and eight weeks of simulated tickets.

The history comes from a small queue simulation (arrivals by hour and weekday, several desks per
service, log-normal service times, a few no-shows), so the hourly chart and the statistics look
like a real hall: busy on Monday mornings and after lunch, quiet late in the afternoon.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import jpholiday
from django.db import transaction
from django.utils import timezone

from cityhall.seeding import SeedContext, step

from .models import Counter, Service, Ticket, TicketEvent, TicketSequence

TOKYO = ZoneInfo("Asia/Tokyo")

SERVICES = [
    # code, Japanese, English, default minutes, arrivals per hour on an average day
    ("A", "住民票・証明書", "Certificates", 6, 15.0),
    ("B", "転入・転出", "Moving in and out", 15, 4.2),
    ("C", "税・料金", "Taxes and fees", 9, 7.0),
    ("D", "福祉・子育て", "Welfare and child-rearing", 18, 1.9),
]
COUNTERS = [
    (1, "1番窓口", "A"),
    (2, "2番窓口", "A"),
    (3, "3番窓口", "AB"),
    (4, "4番窓口", "B"),
    (5, "5番窓口", "B"),
    (6, "6番窓口", "C"),
    (7, "7番窓口", "CD"),
    (8, "8番窓口", "D"),
]
# In the simulation a shared desk works for the first service it lists.
SIMULATED_DESKS = {"A": [1, 2, 3], "B": [4, 5], "C": [6, 7], "D": [8]}
OPENS, CLOSES = dt.time(8, 30), dt.time(17, 15)
LAST_TICKET = dt.time(17, 0)
HOUR_PROFILE = {8: 1.3, 9: 1.6, 10: 1.4, 11: 1.1, 12: 0.8, 13: 1.2, 14: 1.0, 15: 0.8, 16: 0.5}
WEEKDAY_PROFILE = {1: 1.25, 2: 1.0, 3: 0.9, 4: 0.9, 5: 1.1}
NO_SHOW_RATE = 0.03
HISTORY_DAYS = 56


def is_business_day(day: dt.date) -> bool:
    if day.isoweekday() > 5 or jpholiday.is_holiday(day):
        return False
    # Year-end and New Year closure (12月29日〜1月3日, 行政機関の休日に関する法律 1条).
    return not ((day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3))


def ensure_services_and_counters() -> dict[str, Service]:
    services = {}
    for order, (code, ja, en, minutes, _rate) in enumerate(SERVICES):
        services[code], _created = Service.objects.update_or_create(
            code=code,
            defaults={
                "name_ja": ja,
                "name_en": en,
                "default_service_minutes": minutes,
                "sort_order": order,
            },
        )
    for number, name, codes in COUNTERS:
        counter, _created = Counter.objects.update_or_create(
            number=number, defaults={"name": name, "opens_at": OPENS, "closes_at": CLOSES}
        )
        counter.services.set([services[code] for code in codes])
    return services


def _simulate_day(ctx: SeedContext, day: dt.date, service: Service, rate: float, desks: list[int]):
    """One service's day: (issued, called, started, finished, desk, no_show) per ticket."""
    start = dt.datetime.combine(day, OPENS, tzinfo=TOKYO)
    last = dt.datetime.combine(day, LAST_TICKET, tzinfo=TOKYO)
    free_at = {desk: start for desk in desks}
    now, out = start, []
    weekday = WEEKDAY_PROFILE[day.isoweekday()]
    while True:
        hourly = rate * weekday * HOUR_PROFILE.get(now.hour, 0.5)
        now += dt.timedelta(minutes=ctx.rng.expovariate(hourly / 60))
        if now > last:
            return out
        desk = min(free_at, key=lambda d: free_at[d])
        called = max(now, free_at[desk])
        if ctx.rng.random() < NO_SHOW_RATE:
            finished = called + dt.timedelta(minutes=3)
            out.append((now, called, None, finished, desk, True))
        else:
            started = called + dt.timedelta(seconds=ctx.rng.randint(20, 90))
            minutes = service.default_service_minutes * ctx.rng.lognormvariate(0, 0.35)
            finished = started + dt.timedelta(minutes=minutes)
            out.append((now, called, started, finished, desk, False))
        free_at[desk] = finished


def _seed_history(ctx: SeedContext, services: dict[str, Service], days: list[dt.date], now):
    counters = {c.number: c for c in Counter.objects.all()}
    rates = {code: rate for code, _ja, _en, _m, rate in SERVICES}
    desks = SIMULATED_DESKS
    tickets: list[Ticket] = []
    sequences: list[TicketSequence] = []
    for day in days:
        for code, service in services.items():
            rows = _simulate_day(ctx, day, service, rates[code], desks[code])
            number = 0
            for issued, called, started, finished, desk, no_show in rows:
                if issued > now:
                    break
                number += 1
                ticket = Ticket(
                    service=service,
                    business_date=day,
                    number=number,
                    issued_at=issued,
                    queued_at=issued,
                )
                if finished <= now:
                    ticket.state = Ticket.State.NO_SHOW if no_show else Ticket.State.DONE
                    ticket.called_at, ticket.started_at = called, started
                    ticket.finished_at, ticket.counter = finished, counters[desk]
                tickets.append(ticket)
            if number:
                sequences.append(
                    TicketSequence(service=service, business_date=day, last_number=number)
                )
    Ticket.objects.bulk_create(tickets, batch_size=2000)
    TicketSequence.objects.bulk_create(sequences, ignore_conflicts=True)
    events = []
    for ticket in tickets:
        events.append(
            TicketEvent(
                ticket=ticket, kind="issued", at=ticket.issued_at, from_state="", to_state="waiting"
            )
        )
        if ticket.called_at is None:
            continue
        events.append(
            TicketEvent(
                ticket=ticket,
                kind="called",
                at=ticket.called_at,
                from_state="waiting",
                to_state="called",
                counter=ticket.counter,
            )
        )
        if ticket.started_at is not None:
            events.append(
                TicketEvent(
                    ticket=ticket,
                    kind="started",
                    at=ticket.started_at,
                    from_state="called",
                    to_state="serving",
                    counter=ticket.counter,
                )
            )
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=ticket.state,
                at=ticket.finished_at,
                from_state="serving" if ticket.started_at else "called",
                to_state=ticket.state,
                counter=ticket.counter,
            )
        )
    TicketEvent.objects.bulk_create(events, batch_size=5000)
    return len(tickets)


@step(order=60)
def counter_demo(ctx: SeedContext) -> None:
    with transaction.atomic():
        services = ensure_services_and_counters()
    now = timezone.now()
    today = timezone.localdate(now)
    created = 0
    if not Ticket.objects.filter(business_date__lt=today).exists():
        days = [
            today - dt.timedelta(days=offset)
            for offset in range(HISTORY_DAYS, 0, -1)
            if is_business_day(today - dt.timedelta(days=offset))
        ]
        with transaction.atomic():
            created += _seed_history(ctx, services, days, now)
    # Today's morning so far (finished tickets before now, the rest still waiting), when the
    # hall is open today and nobody has taken a ticket yet.
    if is_business_day(today) and not Ticket.objects.filter(business_date=today).exists():
        with transaction.atomic():
            created += _seed_history(ctx, services, [today], now)
    ctx.say(
        f"counter: {len(services)} services, {len(COUNTERS)} counters, {created} tickets "
        f"(history of {math.ceil(HISTORY_DAYS / 7)} weeks)"
    )
