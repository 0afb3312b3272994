"""Events from the apps become notices in the resident's inbox; sends are approved by a second
person above the threshold, can be paused and cancelled, and starting twice sends once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from notices_helpers import resident_with_account, run, staff, started_send, template

from cityhall.events import raise_event
from notices import events, services
from notices.models import Channel, Delivery, EventRecord, Send
from notices.seed import demo_notices

pytestmark = pytest.mark.django_db


@pytest.fixture
def event_templates(db):
    import io

    from cityhall.seeding import SeedContext

    demo_notices(SeedContext(residents=0, parcels=0, stdout=io.StringIO()))


def _inbox_subjects(user) -> list[str]:
    from notices import selectors

    return [item["message"].subject for item in selectors.inbox_items(user)]


def _handle_all():
    for record in EventRecord.objects.filter(handled_at__isnull=True):
        events.handle(record.pk)


def test_application_status_and_certificate_events_reach_the_inbox(event_templates):
    resident, user = resident_with_account()
    raise_event(
        "procedures.status_changed",
        user_id=user.pk,
        resident_id=resident.pk,
        dedupe_key="procedures.event:1",
        context={
            "procedure": "住民票",
            "reference": "A-1",
            "status": "補正依頼中",
            "comment": "印鑑を",
        },
    )
    raise_event(
        "procedures.status_changed",
        user_id=user.pk,
        dedupe_key="procedures.event:1",
        context={"procedure": "住民票", "reference": "A-1", "status": "補正依頼中", "comment": ""},
    )
    raise_event(
        "procedures.certificate_ready",
        user_id=user.pk,
        dedupe_key="procedures.certificate:9",
        context={"procedure": "住民票", "reference": "A-1", "certificate": "住民票の写し"},
    )
    _handle_all()
    assert _inbox_subjects(user) == [
        "住民票の写しを発行しました",
        "申請の状況が変わりました: 補正依頼中",
    ]


def test_a_demand_notice_from_the_arrears_run_reaches_the_payer(event_templates):
    from payments import services as payment_services
    from payments.arrears import issue_notices
    from payments.models import BatchRun, Revenue
    from payments.revenues import revenue_defaults

    resident, user = resident_with_account()
    revenue, _c = Revenue.objects.get_or_create(
        code="resident_tax", defaults=revenue_defaults("resident_tax")
    )
    payment_services.create_charge(
        payer=resident, revenue=revenue, fiscal_year=2025, installments=[(date(2025, 6, 30), 8000)]
    )
    run_row = BatchRun.objects.create(kind="arrears", params={"on_date": "2025-07-10"})
    issue_notices(run_row)
    _handle_all()
    subjects = _inbox_subjects(user)
    assert subjects and subjects[0].startswith("督促状")
    from notices import selectors

    body = selectors.inbox_items(user)[0]["message"].html
    assert "8,000円" in body and "2025年6月30日" in body


def test_a_demand_notice_is_one_message_not_two(event_templates):
    """The arrears run tells the resident once, through notices (their channels and the
    city's template), not also through the general notification inbox and its e-mail."""
    from django.core import mail

    from cityhall.models import Notification
    from payments import services as payment_services
    from payments.arrears import issue_notices
    from payments.models import BatchRun, Revenue
    from payments.revenues import revenue_defaults

    resident, user = resident_with_account()
    revenue, _c = Revenue.objects.get_or_create(
        code="resident_tax", defaults=revenue_defaults("resident_tax")
    )
    payment_services.create_charge(
        payer=resident, revenue=revenue, fiscal_year=2025, installments=[(date(2025, 6, 30), 8000)]
    )
    mail.outbox.clear()
    issue_notices(BatchRun.objects.create(kind="arrears", params={"on_date": "2025-07-10"}))
    _handle_all()
    assert len(_inbox_subjects(user)) == 1
    assert not Notification.objects.filter(user=user).exists()


def test_birth_registration_sends_guidance_to_the_household(event_templates):
    from residents import services as resident_services

    head, user = resident_with_account()
    resident_services.register_birth(
        household=head.household,
        family_name="山田",
        given_name="花",
        family_name_kana="ヤマダ",
        given_name_kana="ハナ",
        birth_date=timezone.localdate() - timedelta(days=3),
        sex="female",
        notified_on=timezone.localdate(),
        clerk=staff("clerk"),
    )
    _handle_all()
    assert _inbox_subjects(user) == ["ご出生おめでとうございます: 児童手当と乳幼児健診のご案内"]


def test_a_garbage_day_change_tells_the_district(event_templates):
    from django.contrib.gis.geos import Polygon

    from gis import services as gis_services
    from gis.models import Feature, GarbageDistrict, Layer
    from residents.models import Address

    inside, user_in = resident_with_account(address="東町1丁目1番1号")
    outside, user_out = resident_with_account(address="東町2丁目1番1号")
    Address.objects.filter(pk=inside.household.address_id).update(
        location="SRID=6668;POINT(139.5005 35.7005)"
    )
    Address.objects.filter(pk=outside.household.address_id).update(
        location="SRID=6668;POINT(139.6 35.8)"
    )
    layer = Layer.objects.create(
        slug="g", name_ja="ごみ", name_en="G", kind="districts_garbage", department="x"
    )
    box = Polygon.from_bbox((139.5, 35.7, 139.501, 35.701))
    box.srid = 6668
    Feature.objects.create(layer=layer, external_id="G-1", geometry=box, valid_from=timezone.now())
    district = GarbageDistrict.objects.create(code="G-1", name_ja="東町地区", name_en="Higashi")
    gis_services.set_garbage_schedule(district=district, kind="burnable", rule="月 木")
    assert not EventRecord.objects.exists()  # setting it the first time is not a change
    gis_services.set_garbage_schedule(district=district, kind="burnable", rule="火 金")
    _handle_all()
    assert _inbox_subjects(user_in) == ["東町地区の燃やすごみの収集日が変わります"]
    assert _inbox_subjects(user_out) == []


def test_a_counter_ticket_about_to_be_called_tells_its_holder(event_templates):
    from datetime import time

    from counter import services as counter_services
    from counter.models import Counter, Service

    resident, user = resident_with_account()
    service = Service.objects.create(code="Q", name_ja="証明書", name_en="Certificates")
    desk = Counter.objects.create(
        number=1,
        name="1番",
        opens_at=time(0, 0),
        closes_at=time(23, 59, 59),
        open_on_closed_days=True,
    )
    desk.services.set([service])
    for _ in range(3):
        counter_services.issue_ticket(service=service)
    mine = counter_services.issue_ticket(service=service, resident=resident)
    counter_services.call_next(counter=desk, clerk=staff("clerk"))
    _handle_all()
    assert _inbox_subjects(user) == [f"整理券 {mine.label} 番: まもなくお呼びします"]


def test_installments_due_in_a_week_tell_their_payers_once(event_templates):
    from payments import services as payment_services
    from payments.duesoon import announce_due_installments
    from payments.models import Revenue
    from payments.revenues import revenue_defaults

    resident, user = resident_with_account()
    revenue, _c = Revenue.objects.get_or_create(
        code="resident_tax", defaults=revenue_defaults("resident_tax")
    )
    today = timezone.localdate()
    payment_services.create_charge(
        payer=resident,
        revenue=revenue,
        fiscal_year=2026,
        installments=[(today + timedelta(days=7), 4500)],
    )
    assert announce_due_installments(on_date=today) == 1
    assert announce_due_installments(on_date=today) == 1  # raised again, deduplicated
    _handle_all()
    assert len(_inbox_subjects(user)) == 1
    assert EventRecord.objects.count() == 1


def test_above_the_threshold_a_second_person_approves(settings):
    settings.NOTICES_APPROVAL_THRESHOLD = 1
    for n in range(2):
        resident_with_account(address=f"旭町1丁目1番{n + 1}号")
    author = staff("supervisor")
    send = services.compose_send(template=template(), actor=author)
    services.set_segment(send=send, data={"towns": ["旭町:1"]}, actor=author)
    send = services.submit(send=send, actor=author)
    assert send.state == Send.State.AWAITING_APPROVAL
    with pytest.raises(ValidationError):
        services.approve(send=send, approver=author)
    with pytest.raises(PermissionDenied):  # a clerk may compose but not approve
        services.approve(send=send, approver=staff("clerk"))
    second = staff("supervisor")
    send = services.approve(send=send, approver=second)
    assert send.state == Send.State.SCHEDULED and send.approved_by == second


def test_at_or_below_the_threshold_the_author_approves_and_it_is_recorded(settings):
    settings.NOTICES_APPROVAL_THRESHOLD = 5
    resident_with_account(address="旭町2丁目1番1号")
    author = staff("supervisor")
    send = started_send(template(), {"towns": ["旭町:2"]}, author=author)
    assert send.state == Send.State.SENDING and send.approved_by == author


def test_starting_twice_writes_each_delivery_once_and_pause_and_cancel_hold(smtp_server):
    from notices_helpers import subscribe

    _r, user = resident_with_account(address="中央1丁目1番1号")
    subscribe(user, Channel.EMAIL)
    send = started_send(template(), {"towns": ["中央:1"]})
    from notices import delivery

    assert delivery.materialize(send) == 0  # the rows are there already
    services.pause(send=send, actor=staff("supervisor"))
    assert run(send.pk)["email"] == 0 and not smtp_server.messages
    services.cancel(send=Send.objects.get(pk=send.pk), actor=staff("supervisor"))
    row = Delivery.objects.get(send=send, channel=Channel.EMAIL)
    assert row.status == "cancelled"
    assert run()["email"] == 0 and not smtp_server.messages
    assert Send.objects.get(pk=send.pk).state == Send.State.CANCELLED


@pytest.mark.celery
def test_a_real_worker_sends_a_scheduled_send_once_even_when_its_task_is_run_twice(
    transactional_db, line_server
):
    """A real Celery worker (its own queue, pointed at the local LINE server) starts the send
    and hands it to LINE; the same tasks queued again (a redelivery) send nothing more."""
    import os
    import time as clock
    from unittest import mock

    from channel_servers import LINE_TOKEN
    from notices_helpers import bulk_linked_residents

    from notices.tasks import dispatch_send, start_send
    from workers import start_celery_worker, stop_celery_worker

    queue = f"notices-test-{os.getpid()}"
    saved = dict(os.environ)
    os.environ.update(
        MACHIBA_LINE_API_URL=line_server.url,
        MACHIBA_LINE_CHANNEL_ACCESS_TOKEN=LINE_TOKEN,
        MACHIBA_NOTICES_LINE_REQUESTS_PER_SECOND="0",
    )
    try:
        worker = start_celery_worker(queue, name="notices")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        users = bulk_linked_residents(3, line=True)
        author = staff("supervisor")
        send = services.compose_send(template=template(line="ワーカーからのお知らせ"), actor=author)
        # Exactly these three: rows other tests committed (this test commits too) stay out.
        send.segment = {"user_ids": [user.pk for user in users]}
        send.save(update_fields=["segment"])
        # Approval queues the start on the suite's default queue, where the session's shared
        # worker (started without this local LINE server) may take it; here the start goes to
        # this test's worker only, explicitly.
        with mock.patch("notices.services._queue_start"):
            send = services.submit(send=send, actor=author)
        assert send.state == Send.State.SCHEDULED
        start_send.apply_async(args=[send.pk], queue=queue).get(timeout=90)
        deadline = clock.monotonic() + 90
        while clock.monotonic() < deadline and Send.objects.get(pk=send.pk).state != "completed":
            clock.sleep(0.5)
        assert Send.objects.get(pk=send.pk).state == "completed"
        dispatch_send.apply_async(args=[send.pk], queue=queue).get(timeout=60)
        start_send.apply_async(args=[send.pk], queue=queue).get(timeout=60)
        assert sum(line_server.received.values()) == len(users)
        assert all(count == 1 for count in line_server.by_key.values())
    finally:
        stop_celery_worker(worker)
