"""Counters (窓口), the services they handle, numbered tickets (整理券) and the tickets' history.

A ticket never shows who holds it in public: the optional resident link is for the clerk's one
view of the resident only.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def new_ticket_token() -> str:
    """An unguessable token for the holder's phone page (128 bits)."""
    return secrets.token_urlsafe(16)


class Service(models.Model):
    """A kind of business at the counter; its letter prefixes the ticket number (A-001)."""

    code = models.CharField(_("記号"), max_length=1, unique=True)
    name_ja = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("名称（英語）"), max_length=80)
    default_service_minutes = models.PositiveSmallIntegerField(_("標準対応時間（分）"), default=10)
    sort_order = models.PositiveSmallIntegerField(_("表示順"), default=0)
    active = models.BooleanField(_("受付中"), default=True)

    class Meta:
        verbose_name = _("窓口業務")
        verbose_name_plural = _("窓口業務")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z]$"), name="counter_service_code_is_a_letter"
            ),
            models.CheckConstraint(
                condition=Q(default_service_minutes__gte=1),
                name="counter_service_minutes_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "ja").startswith("en") else self.name_ja


class Counter(models.Model):
    """A desk in the hall (1番窓口) with the services it handles and its open hours."""

    number = models.PositiveSmallIntegerField(_("窓口番号"), unique=True)
    name = models.CharField(_("窓口名"), max_length=60)
    services = models.ManyToManyField(Service, verbose_name=_("取扱業務"), related_name="counters")
    opens_at = models.TimeField(_("受付開始"), default="08:30")
    closes_at = models.TimeField(_("受付終了"), default="17:15")
    # The hall is closed on Saturdays, Sundays, national holidays and 29 Dec–3 Jan (地方自治法
    # 4条の2, cityhall.dates). A desk that also opens then (休日窓口) says so here.
    open_on_closed_days = models.BooleanField(_("休庁日も受け付ける（休日窓口）"), default=False)
    active = models.BooleanField(_("使用中"), default=True)

    class Meta:
        verbose_name = _("窓口")
        verbose_name_plural = _("窓口")
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__lt=models.F("closes_at")), name="counter_opens_before_close"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class TicketSequence(models.Model):
    """The last number given for a service on a business day; numbering restarts every day."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, verbose_name=_("窓口業務"))
    business_date = models.DateField(_("業務日"))
    last_number = models.PositiveIntegerField(_("最終番号"))

    class Meta:
        verbose_name = _("整理券番号の採番")
        verbose_name_plural = _("整理券番号の採番")
        constraints = [
            models.UniqueConstraint(
                fields=["service", "business_date"], name="counter_one_sequence_per_service_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.business_date} {self.last_number}"


class Ticket(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", _("お待ち")
        CALLED = "called", _("呼出中")
        SERVING = "serving", _("対応中")
        DONE = "done", _("完了")
        NO_SHOW = "no_show", _("不在")
        TRANSFERRED = "transferred", _("転送")

    ACTIVE_AT_COUNTER = (State.CALLED, State.SERVING)

    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, verbose_name=_("窓口業務"), related_name="tickets"
    )
    business_date = models.DateField(_("業務日"))
    number = models.PositiveIntegerField(_("番号"))
    token = models.CharField(
        _("確認用トークン"), max_length=32, unique=True, default=new_ticket_token
    )
    state = models.CharField(_("状態"), max_length=12, choices=State.choices, default=State.WAITING)
    issued_at = models.DateTimeField(_("発券日時"))
    # The place in line: the issue time, or for a transferred ticket the original's issue time,
    # so a resident sent to another counter does not queue again from the back.
    queued_at = models.DateTimeField(_("整列基準日時"))
    called_at = models.DateTimeField(_("呼出日時"), null=True, blank=True)
    started_at = models.DateTimeField(_("対応開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    counter = models.ForeignKey(
        Counter,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("対応窓口"),
        related_name="tickets",
    )
    # Set when a ticket is transferred to one particular counter: only that counter calls it.
    assigned_counter = models.ForeignKey(
        Counter,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("指定窓口"),
        related_name="assigned_tickets",
    )
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("担当職員"),
        related_name="+",
    )
    resident = models.ForeignKey(
        "residents.Resident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("住民"),
        related_name="+",
    )
    transferred_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("転送元"),
        related_name="transferred_to",
    )

    class Meta:
        verbose_name = _("整理券")
        verbose_name_plural = _("整理券")
        permissions = [
            ("serve_ticket", _("窓口で整理券を呼び出し対応できる")),
            ("view_counter_stats", _("窓口の統計を見られる")),
            ("view_resident_360", _("住民の総合照会を見られる")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "business_date", "number"],
                name="counter_ticket_number_unique_per_day",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="counter_ticket_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    state__in=["waiting", "called", "serving", "done", "no_show", "transferred"]
                ),
                name="counter_ticket_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(state="waiting") | Q(called_at__isnull=False) | Q(state="transferred"),
                name="counter_ticket_called_has_called_at",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["called", "serving"]) | Q(counter__isnull=False),
                name="counter_ticket_active_has_counter",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["done", "no_show", "transferred"])
                | Q(finished_at__isnull=False),
                name="counter_ticket_closed_has_finished_at",
            ),
            # A counter serves one ticket at a time.
            models.UniqueConstraint(
                fields=["counter"],
                condition=Q(state__in=["called", "serving"]),
                name="counter_one_active_ticket_per_counter",
            ),
        ]
        indexes = [
            models.Index(
                fields=["service", "queued_at", "id"],
                condition=Q(state="waiting"),
                name="counter_ticket_waiting_idx",
            ),
            models.Index(fields=["business_date", "service"], name="counter_ticket_day_idx"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.service.code}-{self.number:03d}"


class TicketEvent(models.Model):
    """Append-only history of a ticket: who moved it from which state to which, when and where."""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("発券")
        CALLED = "called", _("呼出")
        RECALLED = "recalled", _("再呼出")
        STARTED = "started", _("対応開始")
        DONE = "done", _("完了")
        NO_SHOW = "no_show", _("不在")
        TRANSFERRED = "transferred", _("転送")
        RESIDENT_LINKED = "resident_linked", _("住民の紐付け")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="events", verbose_name=_("整理券")
    )
    kind = models.CharField(_("種別"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("日時"))
    from_state = models.CharField(_("変更前"), max_length=12, blank=True)
    to_state = models.CharField(_("変更後"), max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("操作者"),
        related_name="+",
    )
    counter = models.ForeignKey(
        Counter, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("窓口")
    )
    details = models.JSONField(_("詳細"), default=dict, blank=True)

    class Meta:
        verbose_name = _("整理券の履歴")
        verbose_name_plural = _("整理券の履歴")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="counter_event_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
