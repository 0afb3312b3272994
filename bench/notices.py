"""Benchmark: a notice to 100,000 residents through the local LINE and SMTP servers.

    .venv/bin/python bench/notices.py [--scale 100000] [--email 20000]

Figures: the time to count the segment in SQL (target < 2 s), the time to write every delivery
row (one INSERT … SELECT), and the rate at which messages are handed to each channel (target
≥ 2,000 messages/s on this machine), each beside the channel server's own floor from the same
run: bare HTTP multicast requests to the local LINE server; bare SMTP clients (smtplib over
persistent connections, and a pipelining one) against the local SMTP server, which runs in a
process of its own as a real relay would. The channels' production rate limits are lifted here (they are
the relay's and LINE's allowance, not our capacity). Works in bench_notices, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import bench_database, emit  # noqa: E402


def _floor_line(server, batches: int) -> float:
    import requests

    session = requests.Session()
    started = time.perf_counter()
    for i in range(batches):
        session.post(
            f"{server.url}/v2/bot/message/multicast",
            data=json.dumps(
                {
                    "to": [f"Ufloor{i:05d}{j:03d}" for j in range(500)],
                    "messages": [{"type": "text", "text": "floor"}],
                }
            ),
            headers={
                "Authorization": f"Bearer {server.token}",
                "Content-Type": "application/json",
                "X-Line-Retry-Key": str(uuid.uuid4()),
            },
            timeout=10,
        )
    return batches * 500 / (time.perf_counter() - started)


_FLOOR_BODY = (
    "Subject: floor\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "お知らせ\r\n" * 10
).encode()


def _floor_smtp(server, count: int, connections: int) -> float:
    """Bare smtplib (one message at a time, MAIL/RCPT/DATA each waiting for its reply) over
    `connections` persistent connections in threads, the same message every time."""
    from concurrent.futures import ThreadPoolExecutor

    def share(n: int) -> None:
        connection = smtplib.SMTP("127.0.0.1", server.port)
        for i in range(n):
            connection.sendmail("floor@example.jp", [f"floor{i}@example.jp"], _FLOOR_BODY)
        connection.quit()

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(share, [count // connections] * connections))
    return count // connections * connections / (time.perf_counter() - started)


def _floor_smtp_pipelined(server, count: int) -> float:
    """A bare pipelining client (RFC 2920) on one connection: each message's content and the
    next MAIL/RCPT/DATA in one write, then their replies; the same message every time."""
    connection = smtplib.SMTP("127.0.0.1", server.port)
    connection.ehlo()
    content = smtplib._quote_periods(_FLOOR_BODY) + b".\r\n"
    envelope = b"MAIL FROM:<floor@example.jp>\r\nRCPT TO:<floor@example.jp>\r\nDATA\r\n"
    started = time.perf_counter()
    connection.send(envelope)
    waiting = 3  # MAIL, RCPT, DATA
    for i in range(count):
        codes = [connection.getreply()[0] for _ in range(waiting)]
        assert all(code in (250, 354) for code in codes), codes
        last = i == count - 1
        connection.send(content + (b"" if last else envelope))
        waiting = 1 if last else 4  # the end of the content, then the next MAIL, RCPT, DATA
    assert connection.getreply()[0] == 250
    seconds = time.perf_counter() - started
    connection.quit()
    return count / seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--email", type=int, default=20_000, help="residents who chose e-mail")
    args = parser.parse_args()

    from channel_servers import LINE_TOKEN, LineServer, SmtpServerProcess

    with bench_database("notices"), LineServer() as line_server, SmtpServerProcess() as smtp_server:
        from django.conf import settings

        settings.NOTICES_LINE_API_URL = line_server.url
        settings.NOTICES_LINE_CHANNEL_ACCESS_TOKEN = LINE_TOKEN
        settings.NOTICES_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.NOTICES_EMAIL_HOST = "127.0.0.1"
        settings.NOTICES_EMAIL_PORT = smtp_server.port
        settings.NOTICES_RATE_PER_SECOND = {"email": 0, "line": 0}

        import io

        from allauth.account.models import EmailAddress
        from django.contrib.auth import get_user_model
        from django.db import connection

        from cityhall.roles import sync_role_permissions
        from cityhall.seeding import SeedContext
        from notices import delivery, segments, services
        from notices.models import (
            Channel,
            Delivery,
            LineLink,
            Preference,
            Send,
            Template,
            TemplateVersion,
        )
        from residents.models import Resident
        from residents.seed import create_demo_residents

        sync_role_permissions()
        started = time.perf_counter()
        create_demo_residents(
            SeedContext(residents=args.scale, parcels=0, stdout=io.StringIO()), args.scale
        )
        ids = list(Resident.objects.order_by("id").values_list("id", flat=True))
        User = get_user_model()
        users = User.objects.bulk_create(
            [User(email=f"r{i}@bench.example.jp", password="!") for i in range(len(ids))],
            batch_size=10_000,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE residents_resident r SET user_id = v.uid"
                " FROM unnest(%s::bigint[], %s::bigint[]) AS v(rid, uid) WHERE r.id = v.rid",
                [ids, [u.pk for u in users]],
            )
        emailers = users[: args.email]
        liners = users[args.email :]
        all_topics = ["events", "disaster", "garbage", "childcare", "tax", "health"]
        Preference.objects.bulk_create(
            [Preference(user=u, channels=["inbox", "email"], topics=all_topics) for u in emailers]
            + [Preference(user=u, channels=["inbox", "line"], topics=all_topics) for u in liners],
            batch_size=10_000,
        )
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in emailers],
            batch_size=10_000,
        )
        LineLink.objects.bulk_create(
            [LineLink(user=u, line_user_id=f"U{u.pk:032x}", following=True) for u in liners],
            batch_size=10_000,
        )
        print(
            f"# city of {len(ids)} residents ready in {time.perf_counter() - started:.0f}s",
            flush=True,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        template = Template.objects.create(key="bench", name="bench", topic="events")
        TemplateVersion.objects.create(
            template=template,
            number=1,
            subject_ja="市からのお知らせ",
            subject_en="From the city",
            body_ja="((name)) 様\n\n**市民まつり**を開きます。",
            body_en="Dear ((name)),\n\nThe **city festival** is on.",
            line_ja="市民まつりを開きます。",
            line_en="The city festival is on.",
        )
        from django.utils import timezone

        on = timezone.localdate()
        everyone = segments.parse({"age_min": 0})
        composite = segments.parse({"age_min": 20, "age_max": 64, "child_under": 6})
        for name, spec in (("everyone", everyone), ("adults_with_child_under_6", composite)):
            seconds = min(_timed(lambda spec=spec: segments.count(spec, on)) for _ in range(3))
            counted = segments.count(spec, on)
            emit(f"notices_segment_count_{name}", seconds, "s", len(ids), target="< 2 s", **counted)

        send = Send.objects.create(
            template_version=TemplateVersion.objects.get(template=template),
            topic="events",
            segment=everyone.to_json(),
            as_of=on,
            state=Send.State.SCHEDULED,
            source=Send.Source.EVENT,
            scheduled_at=timezone.now(),
        )
        started = time.perf_counter()
        services.start(send_id=send.pk)
        written = Delivery.objects.filter(send=send).count()
        seconds = time.perf_counter() - started
        emit(
            "notices_deliveries_written",
            written / seconds,
            "rows/s",
            written,
            seconds=round(seconds, 2),
        )

        line_rows = Delivery.objects.filter(send=send, channel=Channel.LINE).count()
        started = time.perf_counter()
        while delivery.batch_line(send_id=send.pk):
            pass
        while delivery.send_line_batches(send_id=send.pk, limit=50):
            pass
        seconds = time.perf_counter() - started
        delivered = Delivery.objects.filter(
            send=send, channel=Channel.LINE, status="delivered"
        ).count()
        assert delivered == line_rows == sum(line_server.received.values()), "LINE count mismatch"
        emit(
            "notices_line_handoff",
            line_rows / seconds,
            "messages/s",
            line_rows,
            target=">= 2000",
            floor=round(_floor_line(line_server, max(1, line_rows // 500 // 4)), 1),
            floor_what="bare HTTP multicast of 500 ids to the same server",
            requests=len(line_server.requests),
        )

        email_rows = Delivery.objects.filter(send=send, channel=Channel.EMAIL).count()
        started = time.perf_counter()
        while delivery.dispatch_email(send_id=send.pk, limit=2000):
            pass
        seconds = time.perf_counter() - started
        mailed = Delivery.objects.filter(
            send=send, channel=Channel.EMAIL, status="delivered"
        ).count()
        assert mailed == email_rows == smtp_server.count(), "e-mail count mismatch"
        floor_count = min(20_000, max(2_000, email_rows))
        before = smtp_server.count()
        floor_plain = _floor_smtp(smtp_server, floor_count, settings.NOTICES_EMAIL_CONNECTIONS)
        floor_pipelined = _floor_smtp_pipelined(smtp_server, floor_count)
        assert smtp_server.count() == before + floor_count * 2, "floor count mismatch"
        emit(
            "notices_email_handoff",
            email_rows / seconds,
            "messages/s",
            email_rows,
            target=">= 2000",
            connections=settings.NOTICES_EMAIL_CONNECTIONS,
            floor=round(floor_pipelined, 1),
            floor_what="a bare pipelining client, one connection, one prebuilt message",
            floor_smtplib=round(floor_plain, 1),
            floor_smtplib_what=(
                f"bare smtplib over {settings.NOTICES_EMAIL_CONNECTIONS} persistent connections"
            ),
        )
        total = line_rows + email_rows
        services.finish_if_done(send_id=send.pk)
        emit(
            "notices_send_total",
            Delivery.objects.filter(send=send).count(),
            "deliveries",
            len(ids),
            state=Send.objects.get(pk=send.pk).state,
            handed_to_channels=total,
        )
    return 0


def _timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
