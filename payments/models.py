"""Unified billing and collection (税・料金の一元化): the ledger and the money that settles it.

A ``Charge`` (賦課/調定) is split into ``Installment`` rows (期別) whose amounts always sum to the
charge: the services check it, and a deferred constraint trigger checks it again at commit
(migration ``0002_ledger_triggers``). Payments from every channel are applied to installments by
``Allocation`` rows; what is left of a payment becomes a ``Credit`` (過誤納金) a clerk refunds or
applies to another installment (充当). Every state change writes a ``LedgerEvent``; allocations and
events are append-only (triggers refuse UPDATE and DELETE).

Two running totals are kept by a statement-level trigger on allocations (set-based, so a batch of a
million allocations updates them in one statement): ``Installment.allocated`` and
``Payment.allocated_amount`` / ``Credit.used``. CHECK constraints then hold the invariants:
allocations never exceed an installment, and a confirmed payment's allocations plus its credit
equal its amount.

One module on purpose: the ledger's tables and the constraints between them are read together
(the triggers of ``0002_ledger_triggers`` and the checks here state one set of invariants).

Kept in one file: Django finds an app's models in ``models``, and the ledger's tables (charges,
installments, payments, allocations, credits, events, batch runs) are one schema whose rules the
migrations' triggers tie together.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Revenue(models.Model):
    """A kind of money the city collects (税目・料金): resident tax, water, a certificate fee …"""

    class Kind(models.TextChoices):
        TAX = "tax", _("税")
        PREMIUM = "premium", _("保険料")
        CHARGE = "charge", _("使用料・利用料")
        FEE = "fee", _("手数料")
        LATE_CHARGE = "late_charge", _("延滞金")

    code = models.SlugField(_("コード"), max_length=30, unique=True)
    # The two digits printed in the convenience-store barcode's free area (FORMATS.md §3).
    slip_code = models.CharField(_("納付書の収入コード"), max_length=2, unique=True)
    name_ja = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("名称（英語）"), max_length=80)
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices)
    # 1 for taxes; 3 for insurance premiums whose ordinance says so (FORMATS.md §2).
    first_period_months = models.PositiveSmallIntegerField(_("延滞金の特例期間（月）"), default=1)
    bears_late_charge = models.BooleanField(_("延滞金の対象"), default=True)
    # Nominal due dates of the annual billing run as [[month, day], …] within the fiscal year.
    schedule = models.JSONField(_("納期（月日）"), default=list, blank=True)

    class Meta:
        verbose_name = _("歳入科目")
        verbose_name_plural = _("歳入科目")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_period_months__in=[1, 3]), name="revenue_first_period_1_or_3"
            ),
            models.CheckConstraint(condition=Q(slip_code__regex=r"^\d{2}$"), name="revenue_slip"),
        ]

    def __str__(self) -> str:
        return self.name_ja

    def name_for(self, language: str | None) -> str:
        return self.name_en if (language or "").startswith("en") else self.name_ja


class Charge(models.Model):
    """賦課/調定: what one payer owes for one revenue and fiscal year, split into installments."""

    # No index of its own: the (payer, fiscal_year) index starts with it.
    payer = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("納付義務者"),
        on_delete=models.PROTECT,
        related_name="charges",
        db_index=False,
    )
    revenue = models.ForeignKey(
        Revenue, verbose_name=_("歳入科目"), on_delete=models.PROTECT, related_name="charges"
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    amount = models.BigIntegerField(_("調定額"))
    description = models.CharField(_("内容"), max_length=200, blank=True)
    legal_basis = models.CharField(_("根拠法令"), max_length=200, blank=True)
    # Where the charge comes from ("procedures.application:42", "assessment:resident_tax:…"):
    # unique, so asking twice for the same origin finds the first charge.
    origin = models.CharField(_("発生元"), max_length=120, unique=True, null=True, blank=True)
    # Looked up by equality only: a plain index (db_index would add a LIKE index, written for
    # every charge and never read).
    parcel_key = models.CharField(_("地番キー"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    settled_at = models.DateTimeField(_("完納日時"), null=True, blank=True)
    # Set once, never cleared: the settled hooks run exactly once per charge.
    settlement_notified_at = models.DateTimeField(_("完納通知日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("調定")
        verbose_name_plural = _("調定")
        indexes = [
            models.Index(fields=["payer", "fiscal_year"], name="charge_payer_year"),
            models.Index(fields=["parcel_key"], name="charge_parcel_key"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="charge_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.revenue} {self.fiscal_year} #{self.pk}"


class Installment(models.Model):
    """期別: one due date of a charge. ``allocated`` is kept by the allocation trigger."""

    # No index of its own: the unique (charge, number) index starts with it.
    charge = models.ForeignKey(
        Charge,
        verbose_name=_("調定"),
        on_delete=models.PROTECT,
        related_name="installments",
        db_index=False,
    )
    number = models.PositiveSmallIntegerField(_("期"))
    # The amount first assessed, never changed; corrections are Adjustment rows and
    # amount = assessed_amount + Σ adjustments (checked by the charge trigger).
    assessed_amount = models.BigIntegerField(_("当初額"))
    amount = models.BigIntegerField(_("金額"))
    # Effective due date, already moved to the next business day (地方税法20条の5 第2項).
    due_on = models.DateField(_("納期限"))
    allocated = models.BigIntegerField(_("収納済額"), default=0)

    class Meta:
        verbose_name = _("期別")
        verbose_name_plural = _("期別")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["due_on"], name="installment_due"),
            models.Index(
                fields=["due_on"],
                name="installment_open_due",
                condition=Q(allocated__lt=F("amount")),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["charge", "number"], name="installment_number_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="installment_amount_positive"),
            models.CheckConstraint(
                condition=Q(allocated__gte=0) & Q(allocated__lte=F("amount")),
                name="installment_allocations_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.charge} 第{self.number}期"

    @property
    def outstanding(self) -> int:
        return self.amount - self.allocated


class Adjustment(models.Model):
    """更正: an adjusting entry on one installment. History is never edited, only added to."""

    installment = models.ForeignKey(
        Installment, verbose_name=_("期別"), on_delete=models.PROTECT, related_name="adjustments"
    )
    delta = models.BigIntegerField(_("増減額"))
    reason = models.CharField(_("理由"), max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("処理した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("記録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("更正")
        verbose_name_plural = _("更正")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class Channel(models.TextChoices):
    CARD = "card", _("クレジットカード")
    SMARTPHONE = "smartphone", _("スマートフォン決済")
    KONBINI = "konbini", _("コンビニエンスストア")
    PAY_EASY = "pay_easy", _("ペイジー")
    DIRECT_DEBIT = "direct_debit", _("口座振替")
    BANK_TRANSFER = "bank_transfer", _("銀行振込")
    COUNTER = "counter", _("窓口（現金・電子マネー）")
    CREDIT = "credit", _("過誤納金の充当")


class Payment(models.Model):
    """収納: money received (or on its way) from one channel.

    States (DESIGN.md §6a): created → pending → confirmed | failed | cancelled; a confirmed
    convenience-store 速報 that the agency takes back (取消) goes confirmed → cancelled. A provider
    that captured another amount than asked puts the payment in needs_review (the money is
    there, and visible) until a supervisor accepts the captured amount or has it refunded.
    """

    class State(models.TextChoices):
        CREATED = "created", _("作成")
        PENDING = "pending", _("処理中")
        NEEDS_REVIEW = "needs_review", _("要確認（金額相違）")
        CONFIRMED = "confirmed", _("収納済")
        FAILED = "failed", _("失敗")
        CANCELLED = "cancelled", _("取消")

    TRANSITIONS: dict[str, set[str]] = {
        State.CREATED: {
            State.PENDING,
            State.NEEDS_REVIEW,
            State.CONFIRMED,
            State.FAILED,
            State.CANCELLED,
        },
        State.PENDING: {State.NEEDS_REVIEW, State.CONFIRMED, State.FAILED, State.CANCELLED},
        # Accepted (the payment takes the captured amount, then is confirmed) or refunded.
        State.NEEDS_REVIEW: {State.PENDING, State.CANCELLED},
        State.CONFIRMED: {State.CANCELLED},
        State.FAILED: set(),
        State.CANCELLED: set(),
    }

    payer = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("納付者"),
        on_delete=models.PROTECT,
        related_name="payments",
        null=True,
        blank=True,
        db_index=False,  # the (payer, state) index starts with it
    )
    channel = models.CharField(_("収納チャネル"), max_length=20, choices=Channel.choices)
    provider = models.CharField(_("決済事業者"), max_length=30, blank=True)
    # NULL, not "": many payments have no reference yet, and NULLs never collide in the unique
    # (channel, external_ref) constraint.
    external_ref = models.CharField(  # noqa: DJ001
        _("外部参照"), max_length=120, null=True, blank=True
    )
    amount = models.BigIntegerField(_("金額"))
    # What the provider says it captured, when that differs from the amount asked (needs review).
    provider_amount = models.BigIntegerField(_("事業者の売上額"), null=True, blank=True)
    paid_on = models.DateField(_("納付日"), null=True, blank=True)
    received_on = models.DateField(_("領収日（入金日）"), null=True, blank=True)
    state = models.CharField(_("状態"), max_length=12, choices=State.choices, default=State.CREATED)
    # Unique through a constraint in Meta, not ``unique=True``: that would add a second,
    # LIKE-pattern index nobody queries, and every bulk import pays for each index. NULL (not
    # "") for payments without a key, so they never collide in that constraint.
    idempotency_key = models.CharField(  # noqa: DJ001
        _("冪等キー"), max_length=120, null=True, blank=True
    )
    request_digest = models.CharField(_("要求ダイジェスト"), max_length=64, blank=True)
    # The installments this payment is meant for, in order (convenience store, direct debit and
    # "pay selected" name them); empty means oldest due date first.
    targets = models.JSONField(_("対象の期別"), default=list, blank=True)
    provisional = models.BooleanField(_("速報"), default=False)
    allocated_amount = models.BigIntegerField(_("充当済額"), default=0)
    credit_amount = models.BigIntegerField(_("過誤納額"), default=0)
    batch_run = models.ForeignKey(
        "BatchRun",
        verbose_name=_("バッチ"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("記録した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("収納")
        verbose_name_plural = _("収納")
        permissions = [("review_payment", _("金額が相違した収納を確認する"))]
        indexes = [
            models.Index(fields=["payer", "state"], name="payment_payer_state"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="payment_idempotency_key"),
            models.UniqueConstraint(
                fields=["channel", "external_ref"], name="payment_external_ref_per_channel"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        "created",
                        "pending",
                        "needs_review",
                        "confirmed",
                        "failed",
                        "cancelled",
                    ]
                ),
                name="payment_state_known",
            ),
            # allocations + credit = amount for every confirmed payment. (That nothing stays
            # applied from a payment taken back is checked by the reconciliation report: the
            # reversal rows are written after the state changes.)
            models.CheckConstraint(
                condition=~Q(state="confirmed")
                | Q(allocated_amount=F("amount") - F("credit_amount")),
                name="confirmed_payment_fully_applied",
            ),
            models.CheckConstraint(
                condition=Q(credit_amount__gte=0) & Q(allocated_amount__gte=0),
                name="payment_parts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.amount:,}円 #{self.pk}"


class Credit(models.Model):
    """過誤納金: the part of a payment that no installment needed; refunded or applied (充当)."""

    payment = models.OneToOneField(
        Payment, verbose_name=_("収納"), on_delete=models.PROTECT, related_name="credit"
    )
    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("住民"),
        on_delete=models.PROTECT,
        related_name="credits",
        null=True,
        blank=True,
    )
    amount = models.BigIntegerField(_("過誤納金額"))
    # Applied (allocation trigger) plus refunded (services); never more than the amount.
    used = models.BigIntegerField(_("充当・還付済額"), default=0)
    created_at = models.DateTimeField(_("発生日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("過誤納金")
        verbose_name_plural = _("過誤納金")
        constraints = [
            models.CheckConstraint(
                condition=Q(used__gte=0) & Q(used__lte=F("amount")), name="credit_used_within"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"

    @property
    def remaining(self) -> int:
        return self.amount - self.used


class Allocation(models.Model):
    """消込/充当: part of a payment (or of a credit) applied to an installment. Append-only:
    a reversal is a new row with a negative amount pointing at the row it reverses."""

    payment = models.ForeignKey(
        Payment, verbose_name=_("収納"), on_delete=models.PROTECT, related_name="allocations"
    )
    installment = models.ForeignKey(
        Installment, verbose_name=_("期別"), on_delete=models.PROTECT, related_name="allocations"
    )
    amount = models.BigIntegerField(_("金額"))
    # Set when a clerk applies a credit (充当): the money comes from the credit, not the payment.
    credit = models.ForeignKey(
        Credit,
        verbose_name=_("充当元の過誤納金"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
    )
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("取消対象"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
    )
    # A reversal whose money stays with the payer as credit (減額更正): the trigger moves it from
    # the payment's allocated amount to its credit amount in one statement.
    released_to_credit = models.BooleanField(_("過誤納金へ振替"), default=False)
    created_at = models.DateTimeField(_("記録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("消込")
        verbose_name_plural = _("消込")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="allocation_not_zero"),
            models.CheckConstraint(
                condition=Q(amount__gt=0) | Q(reverses__isnull=False),
                name="negative_allocation_reverses",
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class Refund(models.Model):
    """還付: money paid back from a credit."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("還付決定")
        PAID = "paid", _("還付済")
        CANCELLED = "cancelled", _("取消")

    credit = models.ForeignKey(
        Credit, verbose_name=_("過誤納金"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.BigIntegerField(_("還付額"))
    state = models.CharField(
        _("状態"), max_length=12, choices=State.choices, default=State.REQUESTED
    )
    reason = models.CharField(_("理由"), max_length=200)
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("処理した職員"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("記録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("還付")
        verbose_name_plural = _("還付")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class Approval(models.Model):
    """Four eyes: a correction (更正) or refund (還付) above the approval threshold waits here until
    a supervisor other than the requester approves it; only then is it applied."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", _("更正")
        REFUND = "refund", _("還付")

    class State(models.TextChoices):
        PENDING = "pending", _("承認待ち")
        APPROVED = "approved", _("承認済")
        REJECTED = "rejected", _("却下")

    kind = models.CharField(_("種類"), max_length=12, choices=Kind.choices)
    state = models.CharField(_("状態"), max_length=10, choices=State.choices, default=State.PENDING)
    charge = models.ForeignKey(
        Charge, verbose_name=_("調定"), on_delete=models.PROTECT, null=True, blank=True
    )
    credit = models.ForeignKey(
        Credit, verbose_name=_("過誤納金"), on_delete=models.PROTECT, null=True, blank=True
    )
    # The size of the change: Σ |new − old| of a correction, the amount of a refund.
    amount = models.BigIntegerField(_("金額"))
    # A correction's new amounts by installment number ({"1": 5000}); a refund's amount.
    params = models.JSONField(_("内容"), default=dict)
    reason = models.CharField(_("理由"), max_length=200)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申請した職員"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("申請日時"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("決裁した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("決裁日時"), null=True, blank=True)
    decision_note = models.CharField(_("決裁の所見"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("更正・還付の承認")
        verbose_name_plural = _("更正・還付の承認")
        ordering = ["-id"]
        permissions = [("decide_approval", _("金額の大きい更正・還付を承認する"))]
        constraints = [
            # The person who asked never decides (four eyes, kept by the database too).
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="approval_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(kind="correction", charge__isnull=False)
                | Q(kind="refund", credit__isnull=False),
                name="approval_names_its_object",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="approval_amount_positive"),
            models.CheckConstraint(
                condition=Q(state="pending", decided_by__isnull=True)
                | (~Q(state="pending") & Q(decided_by__isnull=False)),
                name="approval_decided_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class LedgerEvent(models.Model):
    """Who changed what, when, from which state to which, and why. Append-only (trigger)."""

    kind = models.CharField(_("種類"), max_length=40)
    charge = models.ForeignKey(
        Charge,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    installment = models.ForeignKey(
        Installment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    payment = models.ForeignKey(
        Payment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    refund = models.ForeignKey(
        Refund,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    from_state = models.CharField(_("変更前"), max_length=20, blank=True)
    to_state = models.CharField(_("変更後"), max_length=20, blank=True)
    amount = models.BigIntegerField(_("金額"), null=True, blank=True)
    reason = models.CharField(_("理由"), max_length=200, blank=True)
    data = models.JSONField(_("詳細"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("実行者"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("記録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("収納イベント")
        verbose_name_plural = _("収納イベント")
        ordering = ["id"]
        # An event names one or two of these; indexing only the rows that name one keeps the
        # other columns' NULLs out of their indexes (a billing run writes one event per charge,
        # which used to add four index entries of NULL each).
        indexes = [
            models.Index(
                fields=[name], name=f"ledgerevent_{name}", condition=Q(**{f"{name}__isnull": False})
            )
            for name in ("charge", "installment", "payment", "refund", "actor")
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class WebhookEvent(models.Model):
    """A provider notification already processed: delivered twice, applied once."""

    provider = models.CharField(_("決済事業者"), max_length=30)
    event_id = models.CharField(_("イベントID"), max_length=120)
    kind = models.CharField(_("種類"), max_length=60)
    payload = models.JSONField(_("内容"), default=dict)
    received_at = models.DateTimeField(_("受信日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("決済通知")
        verbose_name_plural = _("決済通知")
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class BatchRun(models.Model):
    """One run of a batch job: its progress, counts and money totals, and where to resume."""

    class Kind(models.TextChoices):
        BILLING = "billing", _("当初賦課")
        KONBINI_IMPORT = "konbini_import", _("コンビニ収納取込")
        ZENGIN_REQUEST = "zengin_request", _("口座振替依頼データ作成")
        ZENGIN_RESULT = "zengin_result", _("口座振替結果取込")
        LATE_CHARGE = "late_charge", _("延滞金確定")
        ARREARS = "arrears", _("督促・催告")

    class State(models.TextChoices):
        PENDING = "pending", _("待機")
        RUNNING = "running", _("実行中")
        SUCCEEDED = "succeeded", _("完了")
        FAILED = "failed", _("失敗")

    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices)
    state = models.CharField(_("状態"), max_length=12, choices=State.choices, default=State.PENDING)
    # Digest of the input file or of the parameters: the same file imported twice is one run.
    input_digest = models.CharField(_("入力ダイジェスト"), max_length=64)
    params = models.JSONField(_("条件"), default=dict, blank=True)
    total = models.PositiveIntegerField(_("件数"), default=0)
    processed = models.PositiveIntegerField(_("処理済件数"), default=0)
    succeeded_count = models.PositiveIntegerField(_("成功件数"), default=0)
    failed_count = models.PositiveIntegerField(_("不成功件数"), default=0)
    skipped_count = models.PositiveIntegerField(_("重複・対象外件数"), default=0)
    amount_total = models.BigIntegerField(_("合計金額"), default=0)
    amount_succeeded = models.BigIntegerField(_("成功金額"), default=0)
    cursor = models.BigIntegerField(_("再開位置"), default=0)
    # A failed run may be run again (same input, from its cursor): each earlier attempt is a
    # BatchAttempt row.
    attempt = models.PositiveSmallIntegerField(_("試行回数"), default=1)
    error = models.TextField(_("エラー"), blank=True)
    output = models.BinaryField(_("出力ファイル"), null=True, blank=True)
    output_name = models.CharField(_("出力ファイル名"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("実行者"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    started_at = models.DateTimeField(_("開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("バッチ実行")
        verbose_name_plural = _("バッチ実行")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "input_digest"], name="batch_run_once"),
            models.CheckConstraint(condition=Q(processed__lte=F("total")), name="batch_progress"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.processed * 100 // self.total)


class BatchChunk(models.Model):
    """A range of a run's staged lines applied in its own transaction. Chunks of a run that may
    run side by side are claimed with ``FOR UPDATE SKIP LOCKED``; a chunk is marked done, with
    its counts, in the transaction that applied it, so a resumed run redoes only the others."""

    batch_run = models.ForeignKey(
        BatchRun, verbose_name=_("バッチ"), on_delete=models.CASCADE, related_name="chunks"
    )
    start = models.BigIntegerField(_("開始行"))
    end = models.BigIntegerField(_("終了行"))
    done = models.BooleanField(_("完了"), default=False)

    class Meta:
        verbose_name = _("バッチの区切り")
        verbose_name_plural = _("バッチの区切り")
        constraints = [
            models.UniqueConstraint(fields=["batch_run", "start"], name="batch_chunk_once"),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="batch_chunk_range"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class BatchAttempt(models.Model):
    """An earlier, failed attempt of a batch run, kept when the run is tried again."""

    batch_run = models.ForeignKey(
        BatchRun, verbose_name=_("バッチ"), on_delete=models.PROTECT, related_name="attempts"
    )
    number = models.PositiveSmallIntegerField(_("試行"))
    error = models.TextField(_("エラー"), blank=True)
    cursor = models.BigIntegerField(_("中断位置"), default=0)
    started_at = models.DateTimeField(_("開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("再実行した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    retried_at = models.DateTimeField(_("再実行日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("バッチの試行")
        verbose_name_plural = _("バッチの試行")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["batch_run", "number"], name="batch_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class UnmatchedRecord(models.Model):
    """A line of an imported file that matched no installment: for a clerk to sort out."""

    class Reason(models.TextChoices):
        NO_RESIDENT = "no_resident", _("住民が見つからない")
        NO_REVENUE = "no_revenue", _("歳入科目が見つからない")
        NO_SCHEDULE = "no_schedule", _("歳入科目に納期の設定がない")
        NO_INSTALLMENT = "no_installment", _("期別が見つからない")
        BARCODE_MISMATCH = "barcode_mismatch", _("バーコードの科目・年度が期別と異なる")
        NOTHING_TO_REVERSE = "nothing_to_reverse", _("取消対象の速報がない（または確報済み）")

    batch_run = models.ForeignKey(
        BatchRun, verbose_name=_("バッチ"), on_delete=models.CASCADE, related_name="unmatched"
    )
    line_no = models.PositiveIntegerField(_("行番号"))
    reference = models.CharField(_("参照"), max_length=120)
    amount = models.BigIntegerField(_("金額"))
    reason = models.CharField(_("理由"), max_length=200, choices=Reason.choices)
    resolved = models.BooleanField(_("処理済"), default=False)

    class Meta:
        verbose_name = _("未照合データ")
        verbose_name_plural = _("未照合データ")
        constraints = [
            models.UniqueConstraint(fields=["batch_run", "line_no"], name="unmatched_once"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class DebitAccount(models.Model):
    """口座振替: the account a resident asked us to debit."""

    class AccountType(models.IntegerChoices):
        ORDINARY = 1, _("普通")
        CURRENT = 2, _("当座")
        SAVINGS = 4, _("貯蓄")
        OTHER = 9, _("その他")

    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("住民"),
        on_delete=models.PROTECT,
        related_name="debit_accounts",
    )
    bank_code = models.CharField(_("金融機関コード"), max_length=4)
    bank_name_kana = models.CharField(_("金融機関名（カナ）"), max_length=15, blank=True)
    branch_code = models.CharField(_("支店コード"), max_length=3)
    branch_name_kana = models.CharField(_("支店名（カナ）"), max_length=15, blank=True)
    account_type = models.PositiveSmallIntegerField(_("預金種目"), choices=AccountType.choices)
    account_number = models.CharField(_("口座番号"), max_length=7)
    holder_kana = models.CharField(_("口座名義（カナ）"), max_length=30)
    active = models.BooleanField(_("有効"), default=True)
    sent_once = models.BooleanField(_("依頼済"), default=False)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("振替口座")
        verbose_name_plural = _("振替口座")
        constraints = [
            models.UniqueConstraint(
                fields=["resident"], condition=Q(active=True), name="one_active_debit_account"
            ),
            models.CheckConstraint(condition=Q(bank_code__regex=r"^\d{4}$"), name="debit_bank"),
            models.CheckConstraint(condition=Q(branch_code__regex=r"^\d{3}$"), name="debit_branch"),
            models.CheckConstraint(
                condition=Q(account_number__regex=r"^\d{7}$"), name="debit_account_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class DebitRequest(models.Model):
    """One installment asked of the bank in a Zengin request file, and the bank's answer."""

    batch_run = models.ForeignKey(
        BatchRun, verbose_name=_("バッチ"), on_delete=models.PROTECT, related_name="debit_requests"
    )
    installment = models.ForeignKey(
        Installment, verbose_name=_("期別"), on_delete=models.PROTECT, related_name="debits"
    )
    account = models.ForeignKey(DebitAccount, verbose_name=_("口座"), on_delete=models.PROTECT)
    debit_on = models.DateField(_("振替日"))
    amount = models.BigIntegerField(_("金額"))
    customer_number = models.CharField(_("顧客番号"), max_length=20)
    result_code = models.PositiveSmallIntegerField(_("結果コード"), null=True, blank=True)
    result_text = models.CharField(_("結果"), max_length=40, blank=True)
    payment = models.ForeignKey(
        Payment, verbose_name=_("収納"), on_delete=models.PROTECT, null=True, blank=True
    )

    class Meta:
        verbose_name = _("口座振替依頼")
        verbose_name_plural = _("口座振替依頼")
        constraints = [
            models.UniqueConstraint(
                fields=["installment", "debit_on"], name="one_debit_per_installment_and_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class Notice(models.Model):
    """督促状 (demand notice, 地方税法329条) or 催告書 (reminder) sent for one installment."""

    class Kind(models.TextChoices):
        DEMAND = "demand", _("督促状")
        REMINDER = "reminder", _("催告書")

    installment = models.ForeignKey(
        Installment, verbose_name=_("期別"), on_delete=models.PROTECT, related_name="notices"
    )
    kind = models.CharField(_("種類"), max_length=10, choices=Kind.choices)
    sequence = models.PositiveSmallIntegerField(_("回数"), default=1)
    issued_on = models.DateField(_("発付日"))
    outstanding = models.BigIntegerField(_("未納額"))
    late_charge = models.BigIntegerField(_("延滞金（発付日現在）"), default=0)
    fee = models.BigIntegerField(_("督促手数料"), default=0)
    within_statutory_window = models.BooleanField(_("法定期限内"), default=True)
    batch_run = models.ForeignKey(
        BatchRun, verbose_name=_("バッチ"), on_delete=models.PROTECT, null=True, blank=True
    )

    class Meta:
        verbose_name = _("督促・催告")
        verbose_name_plural = _("督促・催告")
        ordering = ["issued_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["installment", "kind", "sequence"], name="notice_once_per_sequence"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class PaymentPlan(models.Model):
    """分納誓約: a resident's pledge to pay the arrears in monthly amounts."""

    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("住民"),
        on_delete=models.PROTECT,
        related_name="payment_plans",
    )
    total = models.BigIntegerField(_("誓約額"))
    monthly_amount = models.BigIntegerField(_("月額"))
    first_due_on = models.DateField(_("初回納期"))
    note = models.CharField(_("備考"), max_length=200, blank=True)
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("担当職員"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("分納誓約")
        verbose_name_plural = _("分納誓約")
        constraints = [
            models.CheckConstraint(condition=Q(monthly_amount__gt=0), name="plan_monthly_positive"),
            models.CheckConstraint(condition=Q(total__gt=0), name="plan_total_positive"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class PlanEntry(models.Model):
    plan = models.ForeignKey(
        PaymentPlan, verbose_name=_("分納誓約"), on_delete=models.CASCADE, related_name="entries"
    )
    number = models.PositiveSmallIntegerField(_("回"))
    due_on = models.DateField(_("納期"))
    amount = models.BigIntegerField(_("金額"))

    class Meta:
        verbose_name = _("分納予定")
        verbose_name_plural = _("分納予定")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_entry_number"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class StatementDocument(models.Model):
    """A PDF statement (統合納付書) rendered by Celery for one resident."""

    class State(models.TextChoices):
        PENDING = "pending", _("作成中")
        READY = "ready", _("作成済")
        FAILED = "failed", _("失敗")

    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("住民"),
        on_delete=models.PROTECT,
        related_name="statement_documents",
    )
    as_of = models.DateField(_("基準日"))
    state = models.CharField(_("状態"), max_length=10, choices=State.choices, default=State.PENDING)
    pdf = models.BinaryField(_("PDF"), null=True, blank=True)
    error = models.TextField(_("エラー"), blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("統合納付書")
        verbose_name_plural = _("統合納付書")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"
