"""Building sends in tests through the services, as staff would."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import Group
from factories_residents import move_in

from factories import UserFactory
from notices import delivery, services
from notices.models import Channel, LineLink
from residents.models import Resident

WEBHOOK_SECRET = "test-webhook-channel-secret"


def staff(role: str):
    user = UserFactory(role=role)
    user.groups.add(Group.objects.get(name=role))
    return user


def template(
    *,
    key="t",
    topic="events",
    body="((name)) 様\n\nお知らせです。",
    line="",
    sensitive=False,
    actor=None,
):
    actor = actor or staff("supervisor")
    return services.create_template(
        key=key,
        name=f"テスト {key}",
        topic=topic,
        actor=actor,
        uses_sensitive_data=sensitive,
        texts={
            "subject_ja": "テストのお知らせ",
            "subject_en": "A test notice",
            "body_ja": body,
            "body_en": "Dear ((name)),\n\nA notice.",
            "line_ja": line,
            "line_en": line,
        },
    )


def started_send(tmpl, segment: dict, *, emergency=False, author=None, approver=None):
    author = author or staff("supervisor")
    send = services.compose_send(template=tmpl, actor=author, emergency=emergency)
    services.set_segment(send=send, data=segment, actor=author)
    send = services.submit(send=send, actor=author)
    if send.state == send.State.AWAITING_APPROVAL:
        send = services.approve(send=send, approver=approver or staff("supervisor"))
    send = services.start(send_id=send.pk)
    return send


def subscribe(
    user,
    *channels,
    topics=("events", "disaster", "garbage", "childcare", "tax", "health"),
    quiet=None,
):
    services.save_preferences(
        user=user,
        topics=list(topics),
        channels=[c for c in channels if c != Channel.INBOX],
        language="ja",
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else None,
    )


def link_line(user, line_user_id: str):
    LineLink.objects.update_or_create(
        user=user, defaults={"line_user_id": line_user_id, "following": True}
    )


def run(send_id=None):
    return delivery.dispatch(send_id=send_id, budget_seconds=30)


def bulk_linked_residents(n: int, *, line: bool = False, email: bool = False) -> list:
    """n demo residents (the seed's COPY path), each with a portal account subscribed to
    every topic; linked to LINE and/or choosing e-mail. Returns the users."""
    import io

    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.db import connection

    from cityhall.seeding import SeedContext
    from notices.models import Preference
    from residents.models import Resident
    from residents.seed import create_demo_residents

    ctx = SeedContext(residents=n, parcels=0, stdout=io.StringIO())
    before = set(Resident.objects.values_list("id", flat=True))
    create_demo_residents(ctx, n)
    new_ids = sorted(set(Resident.objects.values_list("id", flat=True)) - before)
    User = get_user_model()
    start = User.objects.count()
    users = User.objects.bulk_create(
        [User(email=f"bulk{start + i}@example.jp", password="!") for i in range(len(new_ids))]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE residents_resident r SET user_id = v.uid"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS v(rid, uid) WHERE r.id = v.rid",
            [new_ids, [u.pk for u in users]],
        )
    channels = ["inbox"] + (["line"] if line else []) + (["email"] if email else [])
    Preference.objects.bulk_create(
        [
            Preference(
                user=u,
                channels=channels,
                topics=["events", "disaster", "garbage", "childcare", "tax", "health"],
            )
            for u in users
        ]
    )
    if email:
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users]
        )
    if line:
        LineLink.objects.bulk_create(
            [LineLink(user=u, line_user_id=f"U{u.pk:032x}", following=True) for u in users]
        )
    return users


def resident_with_account(
    *,
    birth_date: date = date(1980, 5, 1),
    sex: str = "male",
    address: str = "本町3丁目12番4号",
    household=None,
    relationship: str = "",
    email: str | None = None,
):
    resident = move_in(
        birth_date=birth_date,
        sex=sex,
        address=address,
        household=household,
        relationship=relationship,
    )
    user = UserFactory(role="resident", **({"email": email} if email else {}))
    Resident.objects.filter(pk=resident.pk).update(user=user)
    resident.refresh_from_db()
    return resident, user
