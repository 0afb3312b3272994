"""Celery tasks of notices: thin, take ids, idempotent (a retried task sends nothing twice:
the rows and the LINE retry keys remember what went out)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="notices.start_send", acks_late=True)
def start_send(send_id: int) -> str:
    from . import services

    send = services.start(send_id=send_id)
    if send is not None and send.state == send.State.SENDING:
        dispatch_send.delay(send_id)
    return send.state if send is not None else "missing"


@shared_task(name="notices.dispatch_send", acks_late=True, soft_time_limit=300, time_limit=330)
def dispatch_send(send_id: int) -> dict:
    """Hand a send's due messages to the channels for up to a minute, then queue itself again
    while there is more; what waits (quiet hours, retries) the minute beat picks up."""
    from . import delivery, services

    counts = delivery.dispatch(send_id=send_id, budget_seconds=60)
    if any(counts.values()):
        dispatch_send.delay(send_id)
    else:
        services.finish_if_done(send_id=send_id)
    return counts


@shared_task(name="notices.handle_event", acks_late=True)
def handle_event(record_id: int) -> int | None:
    from . import events

    send = events.handle(record_id)
    if send is None:
        return None
    send.refresh_from_db(fields=["state"])
    if send.state == send.State.SENDING:
        dispatch_send.delay(send.pk)
    return send.pk


@shared_task(name="notices.tick", acks_late=True, soft_time_limit=240, time_limit=270)
def tick() -> dict:
    """Beat, every minute: start sends whose time has come, send what became due (retries,
    the end of quiet hours), close finished sends, and pick up events whose task was lost."""
    from django.utils import timezone

    from . import delivery, events, services
    from .models import Send

    started = 0
    for send_id in Send.objects.filter(
        state=Send.State.SCHEDULED, scheduled_at__lte=timezone.now()
    ).values_list("id", flat=True):
        services.start(send_id=send_id)
        started += 1
    swept = delivery.sweep_stale()
    counts = delivery.dispatch(budget_seconds=180)
    for send_id in Send.objects.filter(state=Send.State.SENDING).values_list("id", flat=True):
        services.finish_if_done(send_id=send_id)
    for record_id in events.unhandled():
        handle_event.delay(record_id)
    return {"started": started, "swept": swept, **counts}
