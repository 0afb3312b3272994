"""Events from the other apps become notices: an outbox row in the raising transaction, then a
send (after commit, in Celery) from the template the city keeps for that event."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from cityhall.events import Event

from . import delivery, services
from .eventtypes import DISTRICT, EVENT_TYPES
from .models import EventRecord, Send, Template, TemplateVersion


def receive(event: Event) -> None:
    """cityhall.events handler: keep the event (durably, with the caller's change)."""
    if event.key not in EVENT_TYPES:
        return
    dedupe = event.dedupe_key
    if dedupe and EventRecord.objects.filter(dedupe_key=dedupe).exists():
        return
    try:
        with transaction.atomic():
            record = EventRecord.objects.create(
                key=event.key,
                resident_id=event.resident_id,
                user_id=event.user_id,
                context=event.context,
                dedupe_key=dedupe,
            )
    except IntegrityError:
        return

    def queue() -> None:
        from .tasks import handle_event

        handle_event.delay(record.pk)

    transaction.on_commit(queue)


def _recipient_user_id(record: EventRecord) -> int | None:
    if record.user_id:
        return record.user_id
    if record.resident_id:
        from residents.selectors import get_resident

        resident = get_resident(record.resident_id)
        return resident.user_id if resident is not None else None
    return None


def builtin_template(event_type) -> Template:
    """The template of an event for which the city has not written its own words yet: the
    built-in texts (eventtypes.py). A city that turned its template off (active=False) keeps it
    off; one that never made one still tells residents, e.g. that their application changed."""
    template, created = Template.objects.get_or_create(
        key=event_type.key.replace(".", "-").replace("_", "-"),
        defaults={"name": event_type.name, "topic": event_type.topic, "event_key": event_type.key},
    )
    if created:
        TemplateVersion.objects.create(
            template=template,
            number=1,
            subject_ja=event_type.subject_ja,
            subject_en=event_type.subject_en,
            body_ja=event_type.body_ja,
            body_en=event_type.body_en,
        )
    return template


def handle(record_id: int) -> Send | None:
    """Turn one event into a send and start it. Handling twice does nothing more."""
    with transaction.atomic():
        record = EventRecord.objects.select_for_update().filter(pk=record_id).first()
        if record is None or record.handled_at is not None:
            return None
        record.handled_at = timezone.now()
        event_type = EVENT_TYPES[record.key]
        if not Template.objects.filter(event_key=record.key).exists():
            builtin_template(event_type)
        template = Template.objects.filter(event_key=record.key, active=True).first()
        version = template.latest_version() if template else None
        if version is None:
            record.outcome = "no active template for this event"
            record.save(update_fields=["handled_at", "outcome"])
            return None
        if event_type.audience == DISTRICT:
            segment = {"garbage_districts": [record.context.get("district_code", "")]}
        else:
            user_id = _recipient_user_id(record)
            if user_id is None:
                record.outcome = "the resident has no portal account"
                record.save(update_fields=["handled_at", "outcome"])
                return None
            segment = {"user_ids": [user_id]}
        now = timezone.now()
        send = Send.objects.create(
            template_version=version,
            topic=template.topic,
            source=Send.Source.EVENT,
            state=Send.State.SCHEDULED,
            segment=segment,
            as_of=timezone.localdate(),
            personalisation=record.context,
            approved_at=now,
            scheduled_at=now,
            dedupe_key=f"event:{record.pk}",
        )
        services._event(send, "", None, f"できごと {record.key}")
        record.send = send
        record.outcome = "sent"
        record.save(update_fields=["handled_at", "outcome", "send"])
    send = services.start(send_id=send.pk)
    delivery.dispatch(send_id=send.pk, budget_seconds=30)
    services.finish_if_done(send_id=send.pk)
    return send


def unhandled(older_than_seconds: int = 60) -> list[int]:
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    return list(
        EventRecord.objects.filter(handled_at__isnull=True, created_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )
