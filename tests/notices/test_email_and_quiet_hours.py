"""E-mail through a local SMTP server: HTML + text with one-click unsubscribe (RFC 8058),
permanent failures mark the address bad, temporary ones are retried on Notify's schedule; quiet
hours hold except for emergencies."""

from __future__ import annotations

import email
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from notices_helpers import resident_with_account, run, started_send, subscribe, template

from notices import services
from notices.models import Channel, Delivery, Preference

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


def _mailed_resident(address="本町1丁目2番3号", email_address=None, quiet=None):
    resident, user = resident_with_account(address=address, email=email_address)
    subscribe(user, Channel.EMAIL, quiet=quiet)
    return resident, user


def test_email_has_html_text_and_one_click_unsubscribe(client, smtp_server):
    _resident, user = _mailed_resident()
    send = started_send(
        template(body="((name)) 様\n\n**大切な**お知らせです。"), {"towns": ["本町:1"]}
    )
    run(send.pk)
    assert len(smtp_server.messages) == 1
    message = email.message_from_bytes(smtp_server.messages[0]["data"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "<strong>大切な</strong>" in parts["text/html"].get_payload(decode=True).decode()
    assert "大切なお知らせ" in parts["text/plain"].get_payload(decode=True).decode()
    # A GET (a link checker) changes nothing; the mail client's POST unsubscribes, no sign-in.
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200
    assert Channel.EMAIL in Preference.objects.get(user=user).channels
    response = client.post("/" + path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Channel.EMAIL not in Preference.objects.get(user=user).channels
    assert client.post("/notices/unsubscribe/forged-token/").status_code == 404


def test_a_permanent_failure_marks_the_address_bad_and_later_sends_skip_it(smtp_server):
    _r, bad_user = _mailed_resident(email_address="bounce-me@example.jp")
    _r2, good_user = _mailed_resident(address="本町1丁目2番4号")
    smtp_server.refuse = {"bounce-me": "550 5.1.1 No such user"}
    send = started_send(template(), {"towns": ["本町:1"]})
    run(send.pk)
    bad = Delivery.objects.get(send=send, user=bad_user, channel=Channel.EMAIL)
    assert bad.status == "permanent-failure" and bad.last_error.startswith("550")
    assert Preference.objects.get(user=bad_user).email_bad_since is not None
    assert (
        Delivery.objects.get(send=send, user=good_user, channel=Channel.EMAIL).status == "delivered"
    )
    later = started_send(template(key="t2"), {"towns": ["本町:1"]})
    assert not Delivery.objects.filter(send=later, user=bad_user, channel=Channel.EMAIL).exists()
    assert Delivery.objects.filter(send=later, user=bad_user, channel=Channel.INBOX).exists()


def test_a_temporary_failure_is_retried_after_five_minutes_until_four_hours(smtp_server):
    _r, user = _mailed_resident(email_address="greylisted@example.jp")
    smtp_server.refuse = {"greylisted": "451 4.7.1 Try again later"}
    start = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
    with time_machine.travel(start, tick=False):
        send = started_send(template(), {"towns": ["本町:1"]})
        run(send.pk)
        row = Delivery.objects.get(send=send, channel=Channel.EMAIL)
        assert row.status == "temporary-failure"
        assert row.not_before == start + timedelta(minutes=5)
    with time_machine.travel(start + timedelta(minutes=4), tick=False):
        assert run(send.pk)["email"] == 0  # not yet
    smtp_server.refuse = {}
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        assert run(send.pk)["email"] == 1
    row.refresh_from_db()
    assert row.status == "delivered" and row.attempts == 2
    assert len(smtp_server.count_to()) == 1


def test_temporary_failures_give_up_after_four_hours(smtp_server):
    _r, user = _mailed_resident(email_address="down@example.jp")
    smtp_server.refuse = {"down": "421 4.3.2 Service not available"}
    start = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
    with time_machine.travel(start, tick=False):
        send = started_send(template(), {"towns": ["本町:1"]})
        run(send.pk)
    with time_machine.travel(start + timedelta(hours=4, minutes=1), tick=False):
        run(send.pk)
    row = Delivery.objects.get(send=send, channel=Channel.EMAIL)
    assert row.status == "technical-failure"
    assert services.finish_if_done(send_id=send.pk)


def test_quiet_hours_hold_except_for_emergencies(smtp_server):
    _r, user = _mailed_resident(quiet=(time(21, 0), time(7, 0)))
    night = datetime(2026, 6, 1, 23, 30, tzinfo=TOKYO)
    with time_machine.travel(night, tick=False):
        drill = started_send(template(topic="disaster"), {"towns": ["本町:1"]})
        urgent = started_send(
            template(key="hinan", topic="disaster", body="避難してください。"),
            {"towns": ["本町:1"]},
            emergency=True,
        )
        run()
        held = Delivery.objects.get(send=drill, channel=Channel.EMAIL)
        assert held.status == "created"
        assert held.not_before == datetime(2026, 6, 2, 7, 0, tzinfo=TOKYO)
        assert Delivery.objects.get(send=urgent, channel=Channel.EMAIL).status == "delivered"
        # The inbox is silent: it has both at once.
        assert Delivery.objects.filter(user=user, channel=Channel.INBOX).count() == 2
    assert len(smtp_server.messages) == 1
    with time_machine.travel(datetime(2026, 6, 2, 7, 0, tzinfo=TOKYO), tick=False):
        run()
    held.refresh_from_db()
    assert held.status == "delivered" and len(smtp_server.messages) == 2


def test_emergencies_reach_residents_whatever_topics_they_chose(smtp_server):
    _r, user = resident_with_account(address="本町1丁目9番9号")
    subscribe(user, Channel.EMAIL, topics=["events"])
    drill = started_send(template(topic="disaster"), {"towns": ["本町:1"]})
    assert not Delivery.objects.filter(send=drill, user=user).exists()
    urgent = started_send(
        template(key="u", topic="disaster"), {"towns": ["本町:1"]}, emergency=True
    )
    assert set(
        Delivery.objects.filter(send=urgent, user=user).values_list("channel", flat=True)
    ) == {
        "inbox",
        "email",
    }
