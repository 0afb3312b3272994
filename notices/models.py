"""お知らせ配信: templates and their versions, sends, per-recipient deliveries, LINE batches,
residents' subscriptions, consent and LINE links, and the events other apps raise.

Status words follow GOV.UK Notify (created → sending → delivered / permanent-failure /
temporary-failure / technical-failure); every phrase a person reads comes from these choices.

Kept in one file: Django finds an app's models in ``models``; these fourteen are one schema (a
send's deliveries, batches and the templates' versions refer to each other), read together with the
migration that creates them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Topic(models.TextChoices):
    DISASTER = "disaster", _("防災")
    GARBAGE = "garbage", _("ごみ")
    CHILDCARE = "childcare", _("子育て")
    TAX = "tax", _("税・料金")
    HEALTH = "health", _("健康")
    EVENTS = "events", _("イベント")
    # A notice about the resident's own business (their application, bill or ticket): it goes
    # to whoever it concerns, whatever topics they chose.
    PERSONAL = "personal", _("手続・納付のお知らせ")


SUBSCRIBABLE_TOPICS = [t for t in Topic if t != Topic.PERSONAL]


class Channel(models.TextChoices):
    INBOX = "inbox", _("マイページのお知らせ")
    EMAIL = "email", _("メール")
    LINE = "line", _("LINE")


class Template(models.Model):
    """A notice the city writes once and sends many times. Its text lives in versions."""

    key = models.SlugField(_("識別子"), max_length=60, unique=True)
    name = models.CharField(_("管理用の名前"), max_length=100)
    topic = models.CharField(_("分野"), max_length=20, choices=Topic.choices)
    # The event this template answers ("payments.demand_issued"); blank for staff sends.
    event_key = models.CharField(_("対応するできごと"), max_length=60, blank=True)
    # Chiba's rule: a notice chosen by tax or benefit data needs the resident's consent.
    uses_sensitive_data = models.BooleanField(_("税・給付の情報を使う"), default=False)
    active = models.BooleanField(_("使用中"), default=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("お知らせのひな形")
        verbose_name_plural = _("お知らせのひな形")
        ordering = ["topic", "name"]
        permissions = [
            ("compose_send", _("お知らせを作成・配信できる")),
            ("approve_send", _("お知らせの配信を承認できる")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event_key"], condition=~Q(event_key=""), name="one_template_per_event"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def latest_version(self) -> TemplateVersion | None:
        return self.versions.order_by("-number").first()


class TemplateVersion(models.Model):
    """One wording of a template. Never changed: editing makes the next version, and every
    send and inbox message keeps the version it was sent with."""

    template = models.ForeignKey(
        Template, verbose_name=_("ひな形"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("版"))
    subject_ja = models.CharField(_("件名"), max_length=150)
    subject_en = models.CharField(_("件名（英語）"), max_length=150)
    body_ja = models.TextField(_("本文"))
    body_en = models.TextField(_("本文（英語）"))
    line_ja = models.TextField(_("LINEの文面"), blank=True)
    line_en = models.TextField(_("LINEの文面（英語）"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作成した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("ひな形の版")
        verbose_name_plural = _("ひな形の版")
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"

    def texts(self, language: str) -> tuple[str, str, str]:
        if (language or "ja").startswith("en"):
            return self.subject_en, self.body_en, self.line_en
        return self.subject_ja, self.body_ja, self.line_ja

    def all_texts(self) -> list[str]:
        return [
            self.subject_ja,
            self.subject_en,
            self.body_ja,
            self.body_en,
            self.line_ja,
            self.line_en,
        ]


class RecipientList(models.Model):
    """A list of residents uploaded as CSV (resident codes), for a segment."""

    name = models.CharField(_("名前"), max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登録した職員"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    size = models.PositiveIntegerField(_("件数"), default=0)
    unknown_codes = models.PositiveIntegerField(_("該当しない住民票コード"), default=0)

    class Meta:
        verbose_name = _("配信先リスト")
        verbose_name_plural = _("配信先リスト")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.name


class RecipientListEntry(models.Model):
    recipient_list = models.ForeignKey(
        RecipientList, verbose_name=_("配信先リスト"), on_delete=models.CASCADE, related_name="+"
    )
    resident_code = models.CharField(_("住民票コード"), max_length=11)

    class Meta:
        verbose_name = _("配信先リストの行")
        verbose_name_plural = _("配信先リストの行")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_list", "resident_code"], name="recipient_list_code_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.resident_code


class Send(models.Model):
    """One notice going out: a template version, to a segment (or to the one resident an event
    concerns), approved, scheduled, sent, with its counts."""

    class State(models.TextChoices):
        # Context: payments has its own 作成中 ("Being prepared"), and catalogs are shared.
        DRAFT = "draft", pgettext_lazy("notice send state", "作成中")
        AWAITING_APPROVAL = "awaiting_approval", _("承認待ち")
        SCHEDULED = "scheduled", _("配信予約済み")
        SENDING = "sending", _("配信中")
        PAUSED = "paused", _("一時停止中")
        COMPLETED = "completed", _("配信完了")
        CANCELLED = "cancelled", _("取り消し")

    class Source(models.TextChoices):
        STAFF = "staff", _("職員が作成")
        EVENT = "event", _("業務システムのできごと")

    template_version = models.ForeignKey(
        TemplateVersion, verbose_name=_("ひな形の版"), on_delete=models.PROTECT, related_name="+"
    )
    topic = models.CharField(_("分野"), max_length=20, choices=Topic.choices)
    emergency = models.BooleanField(_("緊急（防災）"), default=False)
    uses_sensitive_data = models.BooleanField(_("税・給付の情報を使う"), default=False)
    source = models.CharField(
        _("作成元"), max_length=10, choices=Source.choices, default=Source.STAFF
    )
    state = models.CharField(_("状態"), max_length=20, choices=State.choices, default=State.DRAFT)
    segment = models.JSONField(_("配信対象の条件"), default=dict, blank=True)
    # The date a live residence is checked on (residents who do not live here then are out).
    as_of = models.DateField(_("基準日"))
    # Values every recipient shares (an event's context).
    personalisation = models.JSONField(_("差し込み値"), default=dict, blank=True)
    recipient_count = models.PositiveIntegerField(_("対象の住民数"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作成した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承認した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("承認日時"), null=True, blank=True)
    scheduled_at = models.DateTimeField(_("配信日時"), null=True, blank=True)
    started_at = models.DateTimeField(_("配信開始"), null=True, blank=True)
    finished_at = models.DateTimeField(_("配信終了"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    # Events: the raising app's key, so an event raised twice sends once.
    dedupe_key = models.CharField(_("重複防止キー"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("お知らせの配信")
        verbose_name_plural = _("お知らせの配信")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=~Q(dedupe_key=""), name="send_dedupe_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        "draft",
                        "awaiting_approval",
                        "scheduled",
                        "sending",
                        "paused",
                        "completed",
                        "cancelled",
                    ]
                ),
                name="send_state_known",
            ),
            # Only 防災 may break through topics and quiet hours.
            models.CheckConstraint(
                condition=Q(emergency=False) | Q(topic="disaster"), name="emergency_is_disaster"
            ),
            # A send that went out was approved by someone (staff sends) or by the template
            # (events); a staff send's approver is on the row.
            models.CheckConstraint(
                condition=Q(source="event")
                | Q(state__in=["draft", "awaiting_approval", "cancelled"])
                | Q(approved_by__isnull=False),
                name="staff_send_approved_before_it_goes",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.template_version}"

    @property
    def subject(self) -> str:
        return self.template_version.subject_ja


class SendEvent(models.Model):
    """Append-only history of a send's state: who, when, from, to, why."""

    send = models.ForeignKey(
        Send, verbose_name=_("配信"), on_delete=models.CASCADE, related_name="events"
    )
    from_state = models.CharField(_("変更前"), max_length=20, blank=True)
    to_state = models.CharField(_("変更後"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作者"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("日時"), auto_now_add=True)
    comment = models.CharField(_("コメント"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("配信の履歴")
        verbose_name_plural = _("配信の履歴")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.send_id} {self.from_state}→{self.to_state}"

    # The states are stored as codes; a person reads their labels.
    @property
    def from_label(self) -> str:
        return Send.State(self.from_state).label if self.from_state else ""

    @property
    def to_label(self) -> str:
        return Send.State(self.to_state).label


class LineBatch(models.Model):
    """One LINE multicast: up to 500 user ids, one text, one retry key.

    The key is stored before the request goes out and reused on every retry, so LINE accepts
    the batch once: a repeat answers 409, which means "already sent" (X-Line-Retry-Key)."""

    class Status(models.TextChoices):
        CREATED = "created", _("送信待ち")
        SENDING = "sending", _("送信中")
        ACCEPTED = "accepted", _("LINEが受け付けた")
        FAILED = "failed", _("失敗")

    send = models.ForeignKey(
        Send, verbose_name=_("配信"), on_delete=models.CASCADE, related_name="line_batches"
    )
    retry_key = models.UUIDField(_("リトライキー"), default=uuid.uuid4, unique=True)
    text = models.TextField(_("文面"))
    size = models.PositiveSmallIntegerField(_("宛先数"))
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.CREATED
    )
    attempts = models.PositiveSmallIntegerField(_("送信回数"), default=0)
    not_before = models.DateTimeField(_("送信可能日時"))
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("受付日時"), null=True, blank=True)
    last_error = models.CharField(_("最後のエラー"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("LINEの一斉送信")
        verbose_name_plural = _("LINEの一斉送信")
        constraints = [
            # LINE's multicast takes at most 500 user ids per request.
            models.CheckConstraint(
                condition=Q(size__gte=1) & Q(size__lte=500), name="line_batch_size_1_500"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.send_id}:{self.retry_key}"


class Delivery(models.Model):
    """One recipient × one channel of one send (GOV.UK Notify's notification row)."""

    class Status(models.TextChoices):
        CREATED = "created", _("送信待ち")
        SENDING = "sending", _("送信中")
        DELIVERED = "delivered", _("配信済み")
        TEMPORARY_FAILURE = "temporary-failure", _("一時的な失敗（再送します）")
        PERMANENT_FAILURE = "permanent-failure", _("宛先に届きません")
        TECHNICAL_FAILURE = "technical-failure", _("システムの不具合で送れませんでした")
        CANCELLED = "cancelled", _("取り消し")

    send = models.ForeignKey(
        Send, verbose_name=_("配信"), on_delete=models.CASCADE, related_name="deliveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("宛先の利用者"),
        on_delete=models.CASCADE,
        related_name="notice_deliveries",
    )
    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("住民"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    channel = models.CharField(_("経路"), max_length=10, choices=Channel.choices)
    # The e-mail address or LINE user id used, as it was at sending time.
    address = models.CharField(_("宛先"), max_length=254, blank=True)
    language = models.CharField(_("言語"), max_length=5, default="ja")
    personalisation = models.JSONField(_("差し込み値"), default=dict, blank=True)
    status = models.CharField(
        _("状態"), max_length=20, choices=Status.choices, default=Status.CREATED
    )
    # Not before this time: quiet hours and the retry schedule move it.
    not_before = models.DateTimeField(_("送信可能日時"))
    attempts = models.PositiveSmallIntegerField(_("送信回数"), default=0)
    line_batch = models.ForeignKey(
        LineBatch,
        verbose_name=_("LINEの一斉送信"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    last_error = models.CharField(_("最後のエラー"), max_length=300, blank=True)
    # [{"status": …, "at": ISO time, "detail": …}, …]: appended, never rewritten.
    history = models.JSONField(_("状態の履歴"), default=list, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    read_at = models.DateTimeField(_("既読日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("お知らせの配信先")
        verbose_name_plural = _("お知らせの配信先")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["send", "user", "channel"], name="one_delivery_per_recipient_channel"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["inbox", "email", "line"]), name="delivery_channel_known"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "created",
                        "sending",
                        "delivered",
                        "temporary-failure",
                        "permanent-failure",
                        "technical-failure",
                        "cancelled",
                    ]
                ),
                name="delivery_status_known",
            ),
        ]
        indexes = [
            models.Index(
                fields=["channel", "not_before"],
                condition=Q(status__in=["created", "temporary-failure"]),
                name="delivery_due_idx",
            ),
            models.Index(fields=["send", "channel", "status"], name="delivery_send_status_idx"),
            models.Index(
                fields=["user", "-created_at"],
                condition=Q(channel="inbox"),
                name="delivery_inbox_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.send_id} {self.user_id} {self.channel} {self.status}"


class Preference(models.Model):
    """A resident's choices on /my/notices/: topics, channels, language and quiet hours."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("利用者"),
        on_delete=models.CASCADE,
        related_name="notice_preference",
    )
    topics = ArrayField(
        models.CharField(max_length=20, choices=Topic.choices),
        verbose_name=_("受け取る分野"),
        default=list,
        blank=True,
    )
    channels = ArrayField(
        models.CharField(max_length=10, choices=Channel.choices),
        verbose_name=_("受け取る方法"),
        default=list,
        blank=True,
    )
    language = models.CharField(_("言語"), max_length=5, default="ja")
    quiet_start = models.TimeField(_("通知しない時間帯（から）"), null=True, blank=True)
    quiet_end = models.TimeField(_("通知しない時間帯（まで）"), null=True, blank=True)
    # Set when a mail to the address failed for good; cleared when the resident confirms it.
    email_bad_since = models.DateTimeField(_("メールが届かなくなった日時"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("お知らせの受信設定")
        verbose_name_plural = _("お知らせの受信設定")
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="quiet_hours_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return str(self.user_id)


class Consent(models.Model):
    """The resident's consent to notices chosen by their tax or benefit data. Withdrawn by
    setting withdrawn_at; a new consent is a new row, so the history stays."""

    class Purpose(models.TextChoices):
        TAX_BENEFIT = "tax_benefit", _("税・給付の情報を使ったお知らせ")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("利用者"),
        on_delete=models.CASCADE,
        related_name="notice_consents",
    )
    resident = models.ForeignKey(
        "residents.Resident", verbose_name=_("住民"), on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField(_("目的"), max_length=20, choices=Purpose.choices)
    wording_version = models.PositiveSmallIntegerField(_("同意文の版"), default=1)
    granted_at = models.DateTimeField(_("同意日時"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("撤回日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("お知らせへの同意")
        verbose_name_plural = _("お知らせへの同意")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "purpose"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_live_consent_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.purpose}"


class LineLink(models.Model):
    """A portal account linked to a LINE user (LINE Login), and whether that user follows the
    city's official account (webhook follow / unfollow; unfollow is also how a block shows)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("利用者"),
        on_delete=models.CASCADE,
        related_name="line_link",
    )
    line_user_id = models.CharField(_("LINEのユーザーID"), max_length=64, unique=True)
    display_name = models.CharField(_("LINEの表示名"), max_length=100, blank=True)
    linked_at = models.DateTimeField(_("連携日時"), auto_now_add=True)
    following = models.BooleanField(_("友だち追加済み"), default=False)
    following_changed_at = models.DateTimeField(_("友だち状態の変更日時"), null=True, blank=True)
    bad_since = models.DateTimeField(_("送信できなくなった日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("LINE連携")
        verbose_name_plural = _("LINE連携")

    def __str__(self) -> str:
        return f"{self.user_id} {self.line_user_id}"


class EventRecord(models.Model):
    """Outbox: an event another app raised, written in the raising transaction, handled after
    commit by a task (and by a beat sweep if that task was lost)."""

    key = models.CharField(_("できごと"), max_length=60)
    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("住民"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("利用者"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    context = models.JSONField(_("内容"), default=dict, blank=True)
    dedupe_key = models.CharField(_("重複防止キー"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("発生日時"), auto_now_add=True)
    handled_at = models.DateTimeField(_("処理日時"), null=True, blank=True)
    send = models.ForeignKey(
        Send,
        verbose_name=_("配信"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(_("処理結果"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("業務システムのできごと")
        verbose_name_plural = _("業務システムのできごと")
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=~Q(dedupe_key=""), name="event_dedupe_key_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(handled_at__isnull=True), name="event_open_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.created_at:%Y-%m-%d %H:%M}"
