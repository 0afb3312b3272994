"""Reads of notices: a resident's inbox and delivery history, a send's progress, statistics."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from . import delivery
from .models import Channel, Delivery, Send, SendEvent

INBOX_SHOWN = 100


def inbox(user) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(user=user, channel=Channel.INBOX)
        .select_related("send__template_version")
        .order_by("-created_at", "-id")
    )


def unread_count(user) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


def rendered(row: Delivery, language: str | None = None):
    language = language or get_language() or "ja"
    return delivery.Renderer(row.send.template_version, row.send_id).render(
        language, row.personalisation
    )


def inbox_items(user, *, limit: int = INBOX_SHOWN) -> list[dict]:
    items = []
    for row in inbox(user)[:limit]:
        items.append(
            {"delivery": row, "message": rendered(row), "topic": row.send.get_topic_display()}
        )
    return items


def dashboard_panel(user) -> dict | None:
    if not user.is_authenticated:
        return None
    return {"unread": unread_count(user), "latest": inbox_items(user, limit=3)}


def resident_360_section(resident) -> dict:
    """The counter's 360 view: the resident's inbox and every delivery (channel, status)."""
    if resident.user_id is None:
        return {"notices_account": False, "notices_inbox": [], "notices_deliveries": []}
    rows = list(
        Delivery.objects.filter(user_id=resident.user_id)
        .select_related("send__template_version")
        .order_by("-created_at", "-id")[:60]
    )
    return {
        "notices_account": True,
        "notices_inbox": [
            {"delivery": row, "message": rendered(row)} for row in rows if row.channel == "inbox"
        ][:20],
        "notices_deliveries": [
            {"delivery": row, "message": rendered(row)} for row in rows if row.channel != "inbox"
        ][:40],
    }


def progress(send: Send) -> dict:
    """Counts by channel and status (one GROUP BY), for the live progress view."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        Delivery.objects.filter(send=send).values("channel", "status").annotate(n=Count("id"))
    ):
        counts[row["channel"]][row["status"]] = row["n"]
    channels = []
    for channel in Channel:
        by_status = counts.get(channel.value, {})
        total = sum(by_status.values())
        if not total:
            continue
        waiting = by_status.get("created", 0) + by_status.get("sending", 0)
        failed = sum(
            by_status.get(s, 0)
            for s in ("permanent-failure", "technical-failure", "temporary-failure")
        )
        channels.append(
            {
                "channel": channel.label,
                "code": channel.value,
                "total": total,
                "delivered": by_status.get("delivered", 0),
                "waiting": waiting,
                "retrying": by_status.get("temporary-failure", 0),
                "failed": failed,
                "cancelled": by_status.get("cancelled", 0),
                "percent": round(100 * by_status.get("delivered", 0) / total),
                "statuses": [
                    {"label": Delivery.Status(code).label, "count": n}
                    for code, n in sorted(by_status.items())
                ],
            }
        )
    return {"channels": channels, "total": sum(c["total"] for c in channels)}


def history(send: Send) -> QuerySet[SendEvent]:
    return send.events.select_related("actor").order_by("at", "id")


def sends(*, limit: int = 100) -> QuerySet[Send]:
    return Send.objects.select_related(
        "template_version__template", "created_by", "approved_by"
    ).order_by("-created_at", "-id")[:limit]


def awaiting_approval() -> QuerySet[Send]:
    return Send.objects.filter(state=Send.State.AWAITING_APPROVAL).select_related(
        "template_version__template", "created_by"
    )


def statistics(*, days: int = 30) -> dict:
    """Deliveries of the last `days` days by channel and status, and sends by state."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        Delivery.objects.filter(created_at__gte=since)
        .values("channel")
        .annotate(
            total=Count("id"),
            delivered=Count("id", filter=Q(status="delivered")),
            waiting=Count("id", filter=Q(status__in=["created", "sending"])),
            retrying=Count("id", filter=Q(status="temporary-failure")),
            permanent=Count("id", filter=Q(status="permanent-failure")),
            technical=Count("id", filter=Q(status="technical-failure")),
            cancelled=Count("id", filter=Q(status="cancelled")),
            read=Count("id", filter=Q(read_at__isnull=False)),
        )
        .order_by("channel")
    )
    by_channel = []
    for row in rows:
        row["channel_label"] = Channel(row["channel"]).label
        row["rate"] = round(100 * row["delivered"] / row["total"]) if row["total"] else 0
        by_channel.append(row)
    sends_by_state = [
        {"label": Send.State(row["state"]).label, "count": row["n"]}
        for row in Send.objects.filter(created_at__gte=since)
        .values("state")
        .annotate(n=Count("id"))
        .order_by("state")
    ]
    return {"days": days, "by_channel": by_channel, "sends_by_state": sends_by_state}


def dashboard_fingerprint() -> str:
    """The rows the notices panel shows (cityhall.dashboard): the account's deliveries and their
    sends."""
    from cityhall.dashboard import fingerprint_of, rows_version

    delivery = Delivery._meta.db_table
    return fingerprint_of(
        rows_version(delivery, "t.user_id = %(user)s"),
        rows_version(
            Send._meta.db_table,
            f"t.id IN (SELECT send_id FROM {delivery} WHERE user_id = %(user)s)",
        ),
    )
