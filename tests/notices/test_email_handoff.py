"""Handing many e-mails to SMTP: each message built once and filled in per recipient (the same
bytes Django builds whole), several connections at once, MAIL/RCPT/DATA pipelined (RFC 2920);
refusals per recipient, and a connection lost after a message went out never sends it twice."""

from __future__ import annotations

import email
import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from notices_helpers import resident_with_account, run, started_send, subscribe, template

from notices import delivery
from notices.channels import ACCEPTED, PERMANENT, TEMPORARY
from notices.channels import email as email_channel
from notices.models import Channel, Delivery, TemplateVersion

DATE = "Sun, 29 Nov 2026 12:00:00 -0000"
LONG_SUBJECT = (
    "((name)) 様へ、市役所から大切なお知らせ：令和九年度の市民まつりと臨時ごみ収集の日程について"
)


def _version(body: str, subject: str = LONG_SUBJECT) -> TemplateVersion:
    return TemplateVersion(
        subject_ja=subject,
        subject_en="From the city to ((name)), about the city festival and extra collections",
        body_ja=body,
        body_en="Dear ((name)),\n\nThe **city festival** is on ((day)).\n\n- bring a hat",
        line_ja="",
        line_en="",
    )


def _normalised(data: bytes) -> bytes:
    # Two builds differ only in the MIME boundary Python picks at random and the Date.
    boundary = re.search(rb'boundary="([^"]+)"', data).group(1)
    data = data.replace(boundary, b"BOUNDARY")
    return re.sub(rb"^Date: [^\r\n]*\r\n", b"Date: DATE\r\n", data, count=1, flags=re.M)


def _whole(renderer, language, values, *, to, user_id, delivery_id) -> tuple[str, bytes]:
    rendered = renderer.render(language, values)
    return email_channel.message_bytes(
        email_channel.Mail(
            to=to,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            unsubscribe_url=delivery.unsubscribe_url(user_id),
            message_id=delivery._message_id(delivery_id),
        )
    )


@pytest.mark.parametrize(
    "language,values",
    [
        ("ja", {"name": "山田 太郎", "day": "2026-12-06"}),
        ("ja", {"name": "佐藤　花子", "day": "2026-12-07"}),
        ("en", {"name": "Hanako Sato", "day": "2026-12-06"}),
        # Not plain words: rendered and built whole, still the same message.
        ("ja", {"name": "太郎 <b>&", "day": "2026-12-06"}),
        ("ja", {"name": "**太郎**", "day": "2026-12-06"}),
        ("en", {"name": "J. O'Brien-Smith", "day": "2026-12-06"}),
        ("ja", {"name": "", "day": "2026-12-06"}),
    ],
)
def test_a_filled_in_message_is_the_message_django_builds_whole(language, values):
    renderer = delivery.Renderer(
        _version("((name)) 様\n\n**市民まつり**を((day))に開きます。\n\n- 帽子をお持ちください"),
        send_id=7,
    )
    for n, to in enumerate(["r1@bench.example.jp", "r2@bench.example.jp"]):
        filled = renderer.email(
            language, values, to=to, user_id=40 + n, delivery_id=90 + n, date=DATE
        )
        envelope_to, whole = _whole(
            renderer, language, values, to=to, user_id=40 + n, delivery_id=90 + n
        )
        assert filled.to == envelope_to == to
        assert _normalised(filled.data) == _normalised(whole)
    message = email.message_from_bytes(filled.data)
    parts = {part.get_content_type(): part for part in message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    assert values["name"].replace("**", "\\*") in text


def test_plain_values_are_filled_in_without_rendering_again():
    renderer = delivery.Renderer(_version("((name)) 様\n\n**お知らせ**です。"), send_id=7)
    for i in range(50):
        renderer.email(
            "ja",
            {"name": f"山田 太郎{i}"},
            to=f"r{i}@x.example.jp",
            user_id=i,
            delivery_id=i,
            date=DATE,
        )
    # One whole render checks the merge for the language; the other 49 are filled in.
    assert len(renderer._cache) == 1


def test_a_template_the_merge_would_get_wrong_is_rendered_whole():
    # A field inside a link's address: the marker is not where the value would be.
    renderer = delivery.Renderer(
        _version("[地図](https://example.jp/((name)))を見てください。", subject="お知らせ"),
        send_id=7,
    )
    values = {"name": "honcho"}
    filled = renderer.email("ja", values, to="a@x.example.jp", user_id=1, delivery_id=1, date=DATE)
    _to, whole = _whole(renderer, "ja", values, to="a@x.example.jp", user_id=1, delivery_id=1)
    assert _normalised(filled.data) == _normalised(whole)


def _outgoing(n: int, prefix: str = "r") -> list[email_channel.Outgoing]:
    return [
        email_channel.Outgoing(
            to=f"{prefix}{i}@x.example.jp",
            data=f"Subject: {i}\r\n\r\n.starts with a dot\r\nお知らせ {i}\r\n".encode(),
        )
        for i in range(n)
    ]


def test_many_messages_go_over_several_pipelined_connections(smtp_server, settings):
    outcomes = email_channel.send_many(_outgoing(40), connections=4)
    assert [o.kind for o in outcomes] == [ACCEPTED] * 40
    assert smtp_server.sessions == 4
    assert smtp_server.pipelined >= 36  # each message's MAIL/RCPT/DATA in one read
    assert sorted(smtp_server.count_to()) == sorted(f"r{i}@x.example.jp" for i in range(40))
    assert all(m["data"].split(b"\r\n")[2] == b".starts with a dot" for m in smtp_server.messages)


def test_refusals_inside_a_pipelined_batch_touch_only_their_recipient(smtp_server):
    smtp_server.refuse = {"r3@": "550 5.1.1 No such user", "r7@": "451 4.7.1 Try later"}
    outcomes = email_channel.send_many(_outgoing(12), connections=2)
    kinds = [o.kind for o in outcomes]
    assert kinds[3] == PERMANENT and outcomes[3].detail.startswith("550")
    assert kinds[7] == TEMPORARY
    assert kinds.count(ACCEPTED) == 10 and len(smtp_server.messages) == 10


@pytest.mark.django_db
def test_a_connection_lost_after_a_message_went_out_never_sends_it_again(smtp_server):
    resident, user = resident_with_account(address="本町1丁目2番3号")
    subscribe(user, Channel.EMAIL)
    others = []
    for n in range(5):
        _r, other = resident_with_account(address=f"本町1丁目5番{n + 1}号")
        subscribe(other, Channel.EMAIL)
        others.append(other)
    smtp_server.sink.drop_after = {1}
    send = started_send(template(), {"towns": ["本町:1"]})
    with override_settings(NOTICES_EMAIL_CONNECTIONS=1):
        run(send.pk)
    rows = Delivery.objects.filter(send=send, channel=Channel.EMAIL)
    statuses = sorted(rows.values_list("status", flat=True))
    # The first message reached the server, its reply did not: not known to be delivered, and
    # not sent again; the others were never sent, and go on the next try.
    assert statuses == ["technical-failure"] + ["temporary-failure"] * 5
    assert len(smtp_server.messages) == 1
    # The retry is due (Notify's five minutes, without waiting them here).
    Delivery.objects.filter(send=send, status="temporary-failure").update(
        not_before=timezone.now() - timedelta(minutes=1)
    )
    run(send.pk)
    assert len(smtp_server.messages) == 6
    assert all(count == 1 for count in smtp_server.count_to().values())
    assert sorted(rows.values_list("status", flat=True)) == ["delivered"] * 5 + [
        "technical-failure"
    ]
    row = rows.get(status="technical-failure")
    assert "not resent" in row.last_error
