"""Who may book: user registrations (利用者登録) of individuals, groups (団体登録) with their
member lists, and temporary users (一時利用者); penalty points."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Registrations that hold a place: the limits per representative count these.
HOLDING_STATES = ("pending", "approved")


class Registration(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("個人")
        GROUP = "group", _("団体")
        TEMPORARY = "temporary", _("一時利用者")

    class State(models.TextChoices):
        PENDING = "pending", _("審査中")
        APPROVED = "approved", _("承認済み")
        REJECTED = "rejected", _("不承認")
        EXPIRED = "expired", _("有効期限切れ")
        WITHDRAWN = "withdrawn", _("取下げ")

    class ApplicantClass(models.TextChoices):
        """The class the lottery's tiers and the fee rates are stated in."""

        RESIDENT_GROUP = "resident_group", _("市内団体")
        GROUP = "group", _("市外団体")
        RESIDENT = "resident", _("市内個人")
        NONRESIDENT = "nonresident", _("市外個人")

    number = models.CharField(_("登録番号"), max_length=12, unique=True)
    kind = models.CharField(_("登録の種類"), max_length=12, choices=Kind.choices)
    state = models.CharField(_("状態"), max_length=12, choices=State.choices, default=State.PENDING)
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("代表者"),
        on_delete=models.PROTECT,
        related_name="facility_registrations",
    )
    name = models.CharField(_("名称・氏名"), max_length=100)
    name_kana = models.CharField(_("フリガナ"), max_length=150)
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    activity = models.CharField(_("活動内容"), max_length=200, blank=True)
    # 市内: an individual linked to a current resident record; a group whose members living,
    # working or studying in the city reach the rules' share. Fixed when approved.
    in_city = models.BooleanField(_("市内"), default=False)
    created_at = models.DateTimeField(_("申請日時"), auto_now_add=True)
    decided_at = models.DateTimeField(_("審査日時"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("審査した職員"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    valid_until = models.DateField(_("有効期限"), null=True, blank=True)
    rejection_reason = models.CharField(_("不承認の理由"), max_length=200, blank=True)
    lottery_barred_until = models.DateField(_("抽選申込の制限期限"), null=True, blank=True)

    class Meta:
        verbose_name = _("利用者登録")
        verbose_name_plural = _("利用者登録")
        ordering = ["-created_at"]
        permissions = [("approve_registration", _("団体登録を審査できる"))]
        constraints = [
            # One person represents at most one individual registration and one temporary one;
            # the two-group limit is a trigger (migration 0002), a count a constraint cannot say.
            models.UniqueConstraint(
                fields=["representative"],
                condition=Q(kind="individual", state__in=HOLDING_STATES),
                name="one_individual_registration_per_person",
            ),
            models.UniqueConstraint(
                fields=["representative"],
                condition=Q(kind="temporary", state__in=HOLDING_STATES),
                name="one_temporary_registration_per_person",
            ),
            models.CheckConstraint(
                condition=~Q(state="approved") | Q(valid_until__isnull=False),
                name="approved_registration_has_validity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @staticmethod
    def applicant_class_of(kind: str, in_city: bool) -> str:
        if kind == "group":
            return "resident_group" if in_city else "group"
        return "resident" if in_city else "nonresident"

    @staticmethod
    def rate_of(kind: str, in_city: bool) -> str:
        """Which fee column applies: groups pay the group rate in the city, the non-resident
        rate from outside it; individuals the resident or non-resident rate."""
        if kind == "group":
            return "group" if in_city else "nonresident"
        return "resident" if in_city else "nonresident"

    @property
    def applicant_class(self) -> str:
        return self.applicant_class_of(self.kind, self.in_city)

    @property
    def applicant_class_label(self) -> str:
        return str(self.ApplicantClass(self.applicant_class).label)

    @property
    def rate(self) -> str:
        return self.rate_of(self.kind, self.in_city)


class Member(models.Model):
    """One person on a group's member list (団体名簿)."""

    class Relation(models.TextChoices):
        LIVES = "lives", _("市内在住")
        WORKS = "works", _("市内在勤")
        STUDIES = "studies", _("市内在学")
        OUTSIDE = "outside", _("市外")

    registration = models.ForeignKey(
        Registration, verbose_name=_("登録"), on_delete=models.CASCADE, related_name="members"
    )
    name = models.CharField(_("氏名"), max_length=80)
    name_kana = models.CharField(_("フリガナ"), max_length=120)
    relation = models.CharField(_("市との関係"), max_length=10, choices=Relation.choices)
    # Normalised name and reading: the same person on two lists has the same key (the
    # duplicate-group check compares these).
    key = models.CharField(_("照合キー"), max_length=200, editable=False)

    class Meta:
        verbose_name = _("構成員")
        verbose_name_plural = _("構成員")
        ordering = ["registration", "id"]
        indexes = [models.Index(fields=["key"], name="member_key_idx")]
        constraints = [
            models.UniqueConstraint(fields=["registration", "key"], name="member_once_per_group"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def in_city(self) -> bool:
        return self.relation != self.Relation.OUTSIDE


class PenaltyPoint(models.Model):
    class Reason(models.TextChoices):
        NO_SHOW = "no_show", _("無断不使用")
        LATE_CANCEL = "late_cancel", _("直前の取消")

    registration = models.ForeignKey(
        Registration,
        verbose_name=_("登録"),
        on_delete=models.PROTECT,
        related_name="penalty_points",
    )
    booking = models.OneToOneField(
        "facilities.Booking",
        verbose_name=_("予約"),
        on_delete=models.PROTECT,
        related_name="penalty",
    )
    reason = models.CharField(_("理由"), max_length=20, choices=Reason.choices)
    points = models.PositiveSmallIntegerField(_("点数"))
    earned_on = models.DateField(_("発生日"))
    expires_on = models.DateField(_("失効日"))

    class Meta:
        verbose_name = _("ペナルティ点")
        verbose_name_plural = _("ペナルティ点")
        ordering = ["-earned_on", "-id"]

    def __str__(self) -> str:
        return f"{self.registration} {self.get_reason_display()} {self.points}"
