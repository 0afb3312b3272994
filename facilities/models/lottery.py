"""Monthly lottery rounds (抽選), their slots, entries and ranked choices (第1・第2希望 …)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class LotteryRound(models.Model):
    """One month's lottery: entries from the 1st to the 15th for slots two months ahead (six
    for large halls); results on the 16th; winners confirm and pay by the deadline."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("受付前")
        OPEN = "open", _("申込受付中")
        CLOSED = "closed", _("締切（抽選前）")
        DRAWING = "drawing", _("抽選中")
        DRAWN = "drawn", _("抽選済み（結果公開前）")
        PUBLISHED = "published", _("結果公開")
        FINISHED = "finished", _("終了")

    # Allowed transitions, checked by the services. Once committed, the seed, its SHA-256 and
    # the published files cannot change (a trigger, migration 0002).
    TRANSITIONS = {
        "scheduled": {"open"},
        "open": {"closed"},
        "closed": {"drawing"},
        "drawing": {"drawn", "closed"},
        "drawn": {"published"},
        "published": {"finished"},
        "finished": set(),
    }

    code = models.CharField(_("回"), max_length=7, unique=True)  # "2026-06": the entry month
    month = models.DateField(_("申込月"), unique=True)
    state = models.CharField(
        _("状態"), max_length=12, choices=State.choices, default=State.SCHEDULED
    )
    opens_at = models.DateTimeField(_("申込開始"))
    closes_at = models.DateTimeField(_("申込締切"))
    results_at = models.DateTimeField(_("結果公開"))
    confirm_by = models.DateTimeField(_("当選確認・支払の期限"))
    max_entries_per_applicant = models.PositiveSmallIntegerField(_("1団体・1人の申込上限"))
    max_wins_per_applicant = models.PositiveSmallIntegerField(_("1団体・1人の当選上限"))
    max_choices_per_entry = models.PositiveSmallIntegerField(_("希望の数の上限"))
    algorithm = models.CharField(_("抽選方式"), max_length=30, default="machiba-draw-v1")
    # Secret until the results are published; its SHA-256 is published when entries close.
    seed = models.CharField(_("乱数の種"), max_length=64, blank=True)
    seed_sha256 = models.CharField(_("乱数の種のSHA-256"), max_length=64, blank=True)
    # Never published: makes the applicant codes in the entries file unlinkable to accounts.
    pseudonym_salt = models.CharField(_("仮名化の鍵"), max_length=64, blank=True)
    entries_file = models.BinaryField(_("申込一覧（公開）"), null=True, blank=True, editable=False)
    entries_sha256 = models.CharField(_("申込一覧のSHA-256"), max_length=64, blank=True)
    results_file = models.BinaryField(_("抽選結果（公開）"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("締切日時"), null=True, blank=True)
    drawn_at = models.DateTimeField(_("抽選日時"), null=True, blank=True)
    published_at = models.DateTimeField(_("公開日時"), null=True, blank=True)
    draw_processed = models.PositiveIntegerField(_("抽選の処理数"), default=0)
    draw_total = models.PositiveIntegerField(_("抽選の対象数"), default=0)
    draw_error = models.TextField(_("抽選のエラー"), blank=True)
    draw_started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("抽選を実行した職員"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("結果を公開した職員"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("抽選の回")
        verbose_name_plural = _("抽選の回")
        ordering = ["-month"]
        permissions = [("run_draw", _("抽選を実行・公開できる"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__lt=F("closes_at"))
                & Q(closes_at__lte=F("results_at"))
                & Q(results_at__lt=F("confirm_by")),
                name="round_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["scheduled", "open"]) | ~Q(seed_sha256=""),
                name="closed_round_has_seed_commitment",
            ),
            models.CheckConstraint(
                condition=Q(max_entries_per_applicant__gte=1)
                & Q(max_wins_per_applicant__gte=1)
                & Q(max_choices_per_entry__gte=1),
                name="round_caps_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def percent(self) -> int:
        if not self.draw_total:
            return 100 if self.state in ("drawn", "published", "finished") else 0
        return min(100, self.draw_processed * 100 // self.draw_total)

    @property
    def seed_public(self) -> str:
        return self.seed if self.state in ("published", "finished") else ""


class RoundSlot(models.Model):
    """A slot offered in a round; ``code`` is its name in the published files."""

    round = models.ForeignKey(
        LotteryRound, verbose_name=_("回"), on_delete=models.CASCADE, related_name="slots"
    )
    unit = models.ForeignKey(
        "facilities.Unit", verbose_name=_("室場"), on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("コマのコード"), max_length=80)
    starts_at = models.DateTimeField(_("開始"))
    ends_at = models.DateTimeField(_("終了"))
    # Set by the draw when an official use or a closure took the slot after entries closed.
    unavailable = models.BooleanField(_("抽選対象外"), default=False)

    class Meta:
        verbose_name = _("抽選のコマ")
        verbose_name_plural = _("抽選のコマ")
        ordering = ["round", "unit", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["round", "code"], name="round_slot_code_unique"),
            models.UniqueConstraint(fields=["round", "unit", "starts_at"], name="round_slot_once"),
        ]

    def __str__(self) -> str:
        return self.code


class Entry(models.Model):
    """One lottery application: up to ``max_choices_per_entry`` ranked slots of one facility;
    it wins at most one of them."""

    class State(models.TextChoices):
        ENTERED = "entered", _("申込済み")
        WON = "won", _("当選")
        LOST = "lost", _("落選")

    # Few indexes on purpose: the draw rewrites every entry of a round, and each index is
    # written again for every row. (round, number) and (registration, round) serve the
    # look-ups and the foreign keys; facility and account are only ever read with the entry.
    round = models.ForeignKey(
        LotteryRound,
        verbose_name=_("回"),
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
    )
    registration = models.ForeignKey(
        "facilities.Registration",
        verbose_name=_("申込者"),
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
    )
    facility = models.ForeignKey(
        "facilities.Facility",
        verbose_name=_("施設"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申込んだアカウント"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    number = models.CharField(_("申込番号"), max_length=12)
    state = models.CharField(_("状態"), max_length=10, choices=State.choices, default=State.ENTERED)
    # Fixed when entries close, and published: the tier (1 first) and the applicant's code.
    tier = models.PositiveSmallIntegerField(_("優先順位"), null=True, blank=True)
    pseudonym = models.CharField(_("申込者コード"), max_length=20, blank=True)
    won_slot = models.OneToOneField(
        RoundSlot,
        verbose_name=_("当選したコマ"),
        on_delete=models.PROTECT,
        related_name="winner",
        null=True,
        blank=True,
    )
    won_rank = models.PositiveSmallIntegerField(_("当選した希望順位"), null=True, blank=True)
    created_at = models.DateTimeField(_("申込日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("抽選の申込")
        verbose_name_plural = _("抽選の申込")
        ordering = ["round", "number"]
        indexes = [models.Index(fields=["registration", "round"], name="entry_registration_round")]
        constraints = [
            models.UniqueConstraint(fields=["round", "number"], name="entry_number_per_round"),
            models.CheckConstraint(
                condition=Q(state="won", won_slot__isnull=False, won_rank__isnull=False)
                | (~Q(state="won") & Q(won_slot__isnull=True)),
                name="entry_won_has_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round} {self.number}"


class Choice(models.Model):
    """第n希望: the n-th slot of an entry. Round and registration are repeated here so that the
    database refuses one applicant choosing the same slot twice in a round."""

    entry = models.ForeignKey(
        Entry, verbose_name=_("申込"), on_delete=models.CASCADE, related_name="choices"
    )
    rank = models.PositiveSmallIntegerField(_("希望順位"))
    slot = models.ForeignKey(
        RoundSlot, verbose_name=_("コマ"), on_delete=models.PROTECT, related_name="choices"
    )
    round = models.ForeignKey(
        LotteryRound, verbose_name=_("回"), on_delete=models.CASCADE, related_name="+"
    )
    registration = models.ForeignKey(
        "facilities.Registration",
        verbose_name=_("申込者"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("希望")
        verbose_name_plural = _("希望")
        ordering = ["entry", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "rank"], name="choice_rank_once"),
            models.UniqueConstraint(
                fields=["round", "registration", "slot"], name="choice_slot_once_per_applicant"
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="choice_rank_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.entry} #{self.rank}"
