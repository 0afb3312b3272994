"""LINE through the real line-bot-sdk against a local server: batches of 500 with a retry key,
a retried batch never sends twice, 429 back-off, the signed webhook and LINE Login linking."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from django.db import connection
from notices_helpers import WEBHOOK_SECRET, bulk_linked_residents, run, started_send, template

from factories import UserFactory
from notices.models import Channel, Delivery, LineBatch, LineLink

pytestmark = pytest.mark.django_db


def _many_line_users(n: int) -> list:
    return bulk_linked_residents(n, line=True)


EVERYONE = {"age_min": 0}


def test_multicast_goes_in_batches_of_500_with_one_retry_key_each(line_server):
    users = _many_line_users(1101)
    send = started_send(template(line="市からのお知らせ: 総合防災訓練"), EVERYONE)
    run(send.pk)
    sizes = sorted(r["size"] for r in line_server.requests)
    assert sizes == [101, 500, 500]
    assert all(r["status"] == 200 for r in line_server.requests)
    assert len({r["key"] for r in line_server.requests}) == 3
    assert sum(line_server.received.values()) == len(users)
    assert set(
        Delivery.objects.filter(send=send, channel=Channel.LINE).values_list("status", flat=True)
    ) == {"delivered"}


def test_a_retried_batch_never_sends_twice(line_server, settings):
    """LINE accepts the batch but the answer is lost (500 after accepting). The batch is tried
    again with the same retry key; LINE answers 409, which we take as sent. Each resident got
    the message once, and the server saw the key twice but accepted it once."""
    settings.NOTICES_RETRY_INTERVAL_SECONDS = 0
    users = _many_line_users(3)
    line_server.script = ["accept-then-500"]
    send = started_send(template(line="一度だけ届くお知らせ"), EVERYONE)
    run(send.pk)
    batch = LineBatch.objects.get(send=send)
    assert batch.status == LineBatch.Status.ACCEPTED
    assert batch.attempts == 2
    assert line_server.by_key[str(batch.retry_key)] == 2
    assert [r["status"] for r in line_server.requests] == [500, 409]
    assert len(line_server.accepted) == 1
    assert all(line_server.received[f"U{u.pk:032x}"] == 1 for u in users)
    rows = Delivery.objects.filter(send=send, channel=Channel.LINE)
    assert {row.status for row in rows} == {"delivered"}
    assert [h["status"] for h in rows[0].history] == [
        "created",
        "sending",
        "temporary-failure",
        "delivered",
    ]


def test_a_batch_interrupted_before_its_answer_is_resent_with_the_same_key(line_server):
    """A worker that died after LINE accepted a batch leaves it `sending`; the next worker
    sends it again with the same key and LINE does not deliver it twice."""
    _many_line_users(2)
    send = started_send(template(line="途中で止まった配信"), EVERYONE)
    from notices import delivery

    delivery.batch_line(send_id=send.pk)
    batch = LineBatch.objects.get(send=send)
    # What the dead worker managed: LINE accepted the key; our row still says sending.
    from notices.channels import line as line_channel

    user_ids = list(batch.deliveries.values_list("address", flat=True))
    assert (
        line_channel.multicast(
            user_ids=user_ids, text=batch.text, retry_key=str(batch.retry_key)
        ).kind
        == "accepted"
    )
    LineBatch.objects.filter(pk=batch.pk).update(status=LineBatch.Status.SENDING)
    run(send.pk)
    assert line_server.by_key[str(batch.retry_key)] == 2
    assert sum(line_server.received.values()) == 2
    assert set(batch.deliveries.values_list("status", flat=True)) == {"delivered"}


def test_429_is_retried_with_growing_back_off(line_server, settings):
    settings.NOTICES_LINE_BACKOFF_SECONDS = 0.1
    _many_line_users(2)
    line_server.script = [429, 429, 429]
    send = started_send(template(line="混雑時のお知らせ"), EVERYONE)
    run(send.pk)
    assert [r["status"] for r in line_server.requests] == [429, 429, 429, 200]
    gaps = [b - a for a, b in zip(line_server.times, line_server.times[1:], strict=False)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4
    assert gaps[2] > gaps[1] > gaps[0]
    assert set(
        Delivery.objects.filter(send=send, channel=Channel.LINE).values_list("status", flat=True)
    ) == {"delivered"}


def test_429_that_does_not_pass_becomes_a_temporary_failure_on_notifys_schedule(
    line_server, settings
):
    settings.NOTICES_LINE_BACKOFF_TRIES = 1
    settings.NOTICES_LINE_BACKOFF_SECONDS = 0.01
    _many_line_users(1)
    line_server.script = [429, 429]
    send = started_send(template(line="待たされるお知らせ"), EVERYONE)
    run(send.pk)
    row = Delivery.objects.get(send=send, channel=Channel.LINE)
    assert row.status == "temporary-failure"
    batch = LineBatch.objects.get(send=send)
    wait = (batch.not_before - row.updated_at).total_seconds()
    assert 290 <= wait <= 310


def _signed(body: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
    return raw, signature.decode()


def _follow_body(kind: str, user_id: str) -> dict:
    event = {
        "type": kind,
        "mode": "active",
        "timestamp": 1700000000000,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": "01H0000000000000000000000" + kind[:1].upper(),
        "deliveryContext": {"isRedelivery": False},
    }
    if kind == "follow":
        event["replyToken"] = "r" * 32
        event["follow"] = {"isUnblocked": False}
    return {"destination": "Uxxxxxxxx", "events": [event]}


def test_a_bad_webhook_signature_is_refused_and_changes_nothing(client, line_server):
    user = UserFactory(role="resident")
    LineLink.objects.create(user=user, line_user_id="U" + "a" * 32, following=True)
    raw, _good = _signed(_follow_body("unfollow", "U" + "a" * 32))
    _raw, forged = _signed(_follow_body("unfollow", "U" + "a" * 32), secret="not-the-secret")
    response = client.post(
        "/notices/line/webhook/",
        raw,
        content_type="application/json",
        HTTP_X_LINE_SIGNATURE=forged,
    )
    assert response.status_code == 400
    assert LineLink.objects.get(user=user).following is True
    missing = client.post("/notices/line/webhook/", raw, content_type="application/json")
    assert missing.status_code == 400


def test_unfollow_and_follow_keep_the_link_state_true(client, line_server):
    user = UserFactory(role="resident")
    LineLink.objects.create(user=user, line_user_id="U" + "b" * 32, following=True)
    for kind, expected in (("unfollow", False), ("follow", True)):
        raw, signature = _signed(_follow_body(kind, "U" + "b" * 32))
        response = client.post(
            "/notices/line/webhook/",
            raw,
            content_type="application/json",
            HTTP_X_LINE_SIGNATURE=signature,
        )
        assert response.status_code == 200
        assert LineLink.objects.get(user=user).following is expected


def test_unfollowed_residents_get_no_line_delivery(line_server):
    users = _many_line_users(2)
    LineLink.objects.filter(user=users[1]).update(following=False)
    send = started_send(template(line="友だちだけに"), EVERYONE)
    assert Delivery.objects.filter(send=send, channel=Channel.LINE).count() == 1
    run(send.pk)
    assert sum(line_server.received.values()) == 1


def test_line_login_links_the_account_through_openid_connect(client, line_server, resident_user):
    client.force_login(resident_user)
    start = client.post("/my/notices/line/start/")
    assert start.status_code == 302 and start["Location"].startswith(line_server.url)
    import requests

    # The browser follows LINE's authorize page back to our callback.
    back = requests.get(start["Location"], allow_redirects=False, timeout=5)
    callback = back.headers["Location"]
    path = callback.split("testserver", 1)[-1]
    done = client.get(path)
    assert done.status_code == 302
    link = LineLink.objects.get(user=resident_user)
    assert link.line_user_id == line_server.login_user["sub"]
    assert link.following is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_line_login_with_a_forged_state_links_nothing(client, line_server, resident_user):
    client.force_login(resident_user)
    client.post("/my/notices/line/start/")
    response = client.get("/my/notices/line/callback/?code=abc&state=forged")
    assert response.status_code == 302
    assert not LineLink.objects.filter(user=resident_user).exists()
