"""Every change of a ticket: issue, call next, recall, start, done, no-show, transfer, link.

Each function runs in one transaction, locks the rows it changes, checks the move against
`TRANSITIONS` and appends a `TicketEvent`.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cityhall.events import raise_event

from .models import Counter, Service, Ticket, TicketEvent

State = Ticket.State
# A resident whose ticket is this many places from the front is told to come back.
SOON_AHEAD = 2

# Allowed moves; a recall is called → called.
TRANSITIONS: dict[str, set[str]] = {
    State.WAITING: {State.CALLED},
    State.CALLED: {State.CALLED, State.SERVING, State.DONE, State.NO_SHOW, State.TRANSFERRED},
    State.SERVING: {State.DONE, State.TRANSFERRED},
    State.DONE: set(),
    State.NO_SHOW: set(),
    State.TRANSFERRED: set(),
}


def _require_clerk(user) -> None:
    if user is None or not user.is_authenticated or not user.has_perm("counter.serve_ticket"):
        raise PermissionDenied(_("窓口の操作は窓口職員だけができます。"))


def _check_move(ticket: Ticket, to_state: str) -> None:
    if to_state not in TRANSITIONS[ticket.state]:
        raise ValidationError(
            _("整理券 %(label)s は「%(state)s」のため、この操作はできません。")
            % {
                "label": ticket.label,
                "state": ticket.get_state_display(),
            }
        )


def _event(
    ticket: Ticket,
    *,
    kind: str,
    from_state: str,
    actor=None,
    counter: Counter | None = None,
    at: dt.datetime,
    details: dict | None = None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        at=at,
        from_state=from_state,
        to_state=ticket.state,
        actor=actor,
        counter=counter,
        details=details or {},
    )


def _next_number(service: Service, business_date: dt.date) -> int:
    """Next daily number for the service: one upsert, so concurrent kiosks never share a number."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO counter_ticketsequence (service_id, business_date, last_number)
            VALUES (%s, %s, 1)
            ON CONFLICT (service_id, business_date)
            DO UPDATE SET last_number = counter_ticketsequence.last_number + 1
            RETURNING last_number
            """,
            [service.pk, business_date],
        )
        return cursor.fetchone()[0]


@transaction.atomic
def issue_ticket(
    *,
    service: Service,
    resident=None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Issue the next numbered ticket of the day for a service (the kiosk button)."""
    if not service.active:
        raise ValidationError(
            _("「%(name)s」は現在受け付けていません。") % {"name": service.name_ja}
        )
    now = now or timezone.now()
    business_date = timezone.localdate(now)
    ticket = Ticket.objects.create(
        service=service,
        business_date=business_date,
        number=_next_number(service, business_date),
        issued_at=now,
        queued_at=now,
        resident=resident,
    )
    _event(ticket, kind=TicketEvent.Kind.ISSUED, from_state="", at=now)
    return ticket


def _lock_counter(counter: Counter) -> Counter:
    return Counter.objects.select_for_update().get(pk=counter.pk)


@transaction.atomic
def call_next(*, counter: Counter, clerk) -> Ticket | None:
    """Call the oldest waiting ticket this counter handles; None when nobody is waiting.

    The counter row is locked so one desk holds one ticket; the ticket is taken with
    FOR UPDATE SKIP LOCKED, so two desks calling at the same moment get different tickets.
    """
    _require_clerk(clerk)
    counter = _lock_counter(counter)
    if not counter.active:
        raise ValidationError(_("この窓口は使用停止中です。"))
    if Ticket.objects.filter(counter=counter, state__in=Ticket.ACTIVE_AT_COUNTER).exists():
        raise ValidationError(
            _(
                "対応中の整理券があります。完了・不在・転送のいずれかにしてから次の方を呼んでください。"
            )
        )
    now = timezone.now()
    ticket = (
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            state=State.WAITING,
            business_date=timezone.localdate(now),
            service__in=counter.services.all(),
        )
        .filter(Q(assigned_counter__isnull=True) | Q(assigned_counter=counter))
        .select_related("service")
        .order_by("queued_at", "id")
        .first()
    )
    if ticket is None:
        return None
    from_state = ticket.state
    ticket.state = State.CALLED
    ticket.called_at = now
    ticket.counter = counter
    ticket.clerk = clerk
    ticket.save(update_fields=["state", "called_at", "counter", "clerk"])
    _event(
        ticket,
        kind=TicketEvent.Kind.CALLED,
        from_state=from_state,
        actor=clerk,
        counter=counter,
        at=now,
    )
    _announce_soon(ticket)
    return ticket


def _announce_soon(called: Ticket) -> None:
    """The waiting ticket with SOON_AHEAD people before it, if a resident holds it: raise
    counter.ticket_soon (once per ticket: the dedupe key)."""
    waiting = Ticket.objects.filter(
        state=State.WAITING, business_date=called.business_date, service_id=called.service_id
    ).order_by("queued_at", "id")
    soon = next(iter(waiting[SOON_AHEAD : SOON_AHEAD + 1]), None)
    if soon is None or soon.resident_id is None:
        return
    raise_event(
        "counter.ticket_soon",
        resident_id=soon.resident_id,
        dedupe_key=f"counter.ticket_soon:{soon.pk}",
        context={
            "number": soon.label,
            "service": called.service.name_ja,
            "service_en": called.service.name_en,
            "ahead": SOON_AHEAD,
        },
    )


def _lock_ticket(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",)).select_related("service").get(pk=ticket.pk)
    )


def _require_own_counter(ticket: Ticket, counter: Counter | None) -> None:
    if counter is not None and ticket.counter_id != counter.pk:
        raise ValidationError(_("この整理券は別の窓口で対応中です。"))


@transaction.atomic
def recall(*, ticket: Ticket, clerk, counter: Counter | None = None) -> Ticket:
    """Call the same number again (the resident did not come up yet)."""
    _require_clerk(clerk)
    ticket = _lock_ticket(ticket)
    _require_own_counter(ticket, counter)
    _check_move(ticket, State.CALLED)
    now = timezone.now()
    _event(
        ticket,
        kind=TicketEvent.Kind.RECALLED,
        from_state=ticket.state,
        actor=clerk,
        counter=ticket.counter,
        at=now,
    )
    return ticket


@transaction.atomic
def start_service(*, ticket: Ticket, clerk, counter: Counter | None = None) -> Ticket:
    """The resident has arrived at the desk: service time starts now."""
    _require_clerk(clerk)
    ticket = _lock_ticket(ticket)
    _require_own_counter(ticket, counter)
    _check_move(ticket, State.SERVING)
    now = timezone.now()
    from_state = ticket.state
    ticket.state = State.SERVING
    ticket.started_at = now
    ticket.clerk = clerk
    ticket.save(update_fields=["state", "started_at", "clerk"])
    _event(
        ticket,
        kind=TicketEvent.Kind.STARTED,
        from_state=from_state,
        actor=clerk,
        counter=ticket.counter,
        at=now,
    )
    return ticket


def _close(ticket: Ticket, *, to_state: str, kind: str, clerk, details: dict | None = None):
    _check_move(ticket, to_state)
    now = timezone.now()
    from_state = ticket.state
    ticket.state = to_state
    ticket.finished_at = now
    if to_state == State.DONE and ticket.started_at is None:
        # Done straight from "called": the service began when the number was called.
        ticket.started_at = ticket.called_at
    ticket.save(update_fields=["state", "finished_at", "started_at"])
    _event(
        ticket,
        kind=kind,
        from_state=from_state,
        actor=clerk,
        counter=ticket.counter,
        at=now,
        details=details,
    )
    return ticket


@transaction.atomic
def finish(*, ticket: Ticket, clerk, counter: Counter | None = None) -> Ticket:
    _require_clerk(clerk)
    ticket = _lock_ticket(ticket)
    _require_own_counter(ticket, counter)
    return _close(ticket, to_state=State.DONE, kind=TicketEvent.Kind.DONE, clerk=clerk)


@transaction.atomic
def mark_no_show(*, ticket: Ticket, clerk, counter: Counter | None = None) -> Ticket:
    _require_clerk(clerk)
    ticket = _lock_ticket(ticket)
    _require_own_counter(ticket, counter)
    return _close(ticket, to_state=State.NO_SHOW, kind=TicketEvent.Kind.NO_SHOW, clerk=clerk)


@transaction.atomic
def transfer(
    *,
    ticket: Ticket,
    clerk,
    service: Service,
    to_counter: Counter | None = None,
    counter: Counter | None = None,
) -> Ticket:
    """Send the resident to another service (and optionally one counter).

    The ticket closes as transferred and a new ticket of the target service takes the original
    place in line; the holder's phone page follows the chain.
    """
    _require_clerk(clerk)
    ticket = _lock_ticket(ticket)
    _require_own_counter(ticket, counter)
    if to_counter is not None and not to_counter.services.filter(pk=service.pk).exists():
        raise ValidationError(
            {
                "to_counter": _(
                    "%(counter)s は「%(service)s」を扱っていません。別の窓口を選んでください。"
                )
                % {"counter": to_counter.name, "service": service.name_ja}
            }
        )
    if to_counter is not None and to_counter.pk == ticket.counter_id:
        raise ValidationError({"to_counter": _("同じ窓口には転送できません。")})
    _close(
        ticket,
        to_state=State.TRANSFERRED,
        kind=TicketEvent.Kind.TRANSFERRED,
        clerk=clerk,
        details={
            "service": service.code,
            "to_counter": to_counter.number if to_counter is not None else None,
        },
    )
    now = ticket.finished_at
    business_date = timezone.localdate(now)
    successor = Ticket.objects.create(
        service=service,
        business_date=business_date,
        number=_next_number(service, business_date),
        issued_at=now,
        queued_at=ticket.queued_at,
        assigned_counter=to_counter,
        resident=ticket.resident,
        transferred_from=ticket,
    )
    _event(
        successor,
        kind=TicketEvent.Kind.ISSUED,
        from_state="",
        actor=clerk,
        at=now,
        details={"transferred_from": ticket.label},
    )
    return successor


@transaction.atomic
def link_resident(*, ticket: Ticket, clerk, resident) -> Ticket:
    """The clerk identified the person at the desk: tie the ticket to the resident record."""
    _require_clerk(clerk)
    ticket = _lock_ticket(ticket)
    if ticket.state not in Ticket.ACTIVE_AT_COUNTER:
        raise ValidationError(_("対応中の整理券にだけ住民を紐付けられます。"))
    ticket.resident = resident
    ticket.save(update_fields=["resident"])
    _event(
        ticket,
        kind=TicketEvent.Kind.RESIDENT_LINKED,
        from_state=ticket.state,
        actor=clerk,
        counter=ticket.counter,
        at=timezone.now(),
        details={"resident_id": resident.pk},
    )
    return ticket
