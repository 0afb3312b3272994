"""住民基本台帳: residents, households, addresses and their movements.

Core tables here are read by every other app through `residents.selectors`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models as gis_models
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateRangeField, RangeOperators
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Address(models.Model):
    """A normalised address in this city. Households at the same address share the row."""

    postal_code = models.CharField(_("郵便番号"), max_length=8, blank=True)
    town = models.CharField(_("町名"), max_length=60)
    chome = models.PositiveSmallIntegerField(_("丁目"), null=True, blank=True)
    banchi = models.CharField(_("番地"), max_length=20)
    go = models.CharField(_("号"), max_length=20, blank=True)
    building = models.CharField(_("建物名・部屋番号"), max_length=100, blank=True)
    normalized = models.CharField(_("正規化住所"), max_length=250, unique=True)
    # Set by the GIS geocoder (gis → residents.services); residents never call gis.
    location = gis_models.PointField(_("位置"), srid=6668, null=True, blank=True)
    parcel_key = models.CharField(_("地番キー"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("住所")
        verbose_name_plural = _("住所")
        indexes = [GinIndex(fields=["normalized"], name="address_trgm", opclasses=["gin_trgm_ops"])]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        chome = f"{self.chome}丁目" if self.chome else ""
        go = f"{self.go}号" if self.go else ""
        banchi = f"{self.banchi}番" if go else f"{self.banchi}番地"
        building = f" {self.building}" if self.building else ""
        return f"{self.town}{chome}{banchi}{go}{building}"


class Household(models.Model):
    """世帯. The head is the member with is_head (one per household, by a partial unique index)."""

    number = models.CharField(_("世帯番号"), max_length=12, unique=True)
    address = models.ForeignKey(
        Address, verbose_name=_("住所"), on_delete=models.PROTECT, related_name="households"
    )
    address_since = models.DateField(_("住所を定めた日"))
    formed_on = models.DateField(_("世帯の成立日"))
    dissolved_on = models.DateField(_("世帯の消滅日"), null=True, blank=True)

    class Meta:
        verbose_name = _("世帯")
        verbose_name_plural = _("世帯")

    def __str__(self) -> str:
        return self.number


# The one- and two-character pieces of a resident's search name and reading, for short words.
SHORT_GRAMS = models.Func(
    models.F("search_name"),
    models.F("search_kana"),
    function="residents_short_grams",
    output_field=ArrayField(models.TextField()),
)


class Resident(models.Model):
    class Status(models.TextChoices):
        CURRENT = "current", _("住民")
        MOVED_OUT = "moved_out", _("転出")
        DECEASED = "deceased", _("死亡")

    class Sex(models.TextChoices):
        MALE = "male", _("男")
        FEMALE = "female", _("女")

    resident_code = models.CharField(_("住民票コード"), max_length=11, unique=True)
    family_name = models.CharField(_("氏"), max_length=40)
    given_name = models.CharField(_("名"), max_length=40)
    family_name_kana = models.CharField(_("氏（フリガナ）"), max_length=80)
    given_name_kana = models.CharField(_("名（フリガナ）"), max_length=80)
    birth_date = models.DateField(_("生年月日"))
    sex = models.CharField(_("性別"), max_length=10, choices=Sex.choices)
    household = models.ForeignKey(
        Household,
        verbose_name=_("世帯"),
        on_delete=models.PROTECT,
        related_name="members",
        null=True,
        blank=True,
    )
    relationship = models.CharField(_("続柄"), max_length=20)
    is_head = models.BooleanField(_("世帯主"), default=False)
    became_resident_on = models.DateField(_("住民となった日"))
    status = models.CharField(
        _("状態"), max_length=12, choices=Status.choices, default=Status.CURRENT
    )
    left_on = models.DateField(_("消除日"), null=True, blank=True)
    registered_domicile = models.CharField(_("本籍"), max_length=200, blank=True)
    domicile_head = models.CharField(_("筆頭者"), max_length=80, blank=True)
    # My Number: AES-GCM ciphertext, and a keyed hash (HMAC) so uniqueness is checkable
    # without decrypting. Written only by residents.services.
    mynumber_ciphertext = models.BinaryField(_("個人番号（暗号化）"), null=True, blank=True)
    mynumber_digest = models.CharField(_("個人番号（照合用）"), max_length=64, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("利用者アカウント"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resident",
    )
    # Normalised "family given" in kanji and in katakana, for trigram search.
    search_name = models.CharField(_("検索用氏名"), max_length=100, editable=False)
    search_kana = models.CharField(_("検索用フリガナ"), max_length=170, editable=False)

    class Meta:
        verbose_name = _("住民")
        verbose_name_plural = _("住民")
        permissions = [
            ("reveal_mynumber", _("個人番号を表示できる")),
            ("certify_mynumber", _("証明書に個人番号を記載できる")),
        ]
        indexes = [
            GinIndex(fields=["search_name"], name="resident_name_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["search_kana"], name="resident_kana_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["birth_date"], name="resident_birth_idx"),
            # Words of one or two characters (佐藤, 林, たろ) have no trigram, so the trigram
            # indexes cannot answer them and a search scanned every row; this index holds each
            # name's one- and two-character pieces (function in migration 0008).
            GinIndex(SHORT_GRAMS, name="resident_short_grams"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(is_head=True, status="current"),
                name="one_current_head_per_household",
            ),
            models.CheckConstraint(
                condition=Q(is_head=False) | Q(status="current"),
                name="head_is_a_current_resident",
            ),
            models.UniqueConstraint(
                fields=["mynumber_digest"],
                condition=Q(status="current") & ~Q(mynumber_digest=""),
                name="unique_mynumber_among_current",
            ),
            models.CheckConstraint(
                condition=Q(status="current") | Q(left_on__isnull=False),
                name="left_resident_has_left_on",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def full_name_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}"


class ResidencePeriod(models.Model):
    """Where and in which household a resident lived, for a half-open range of dates [from, to).

    Periods are closed, never rewritten, when something changes, so "who lived in this household
    on 2024-04-01?" is one range query. The exclusion constraint keeps one resident's periods
    from overlapping.
    """

    resident = models.ForeignKey(
        Resident, verbose_name=_("住民"), on_delete=models.PROTECT, related_name="periods"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("世帯"), on_delete=models.PROTECT, related_name="periods"
    )
    address = models.ForeignKey(
        Address, verbose_name=_("住所"), on_delete=models.PROTECT, related_name="periods"
    )
    relationship = models.CharField(_("続柄"), max_length=20)
    is_head = models.BooleanField(_("世帯主"), default=False)
    valid = DateRangeField(_("期間"))

    class Meta:
        verbose_name = _("居住期間")
        verbose_name_plural = _("居住期間")
        constraints = [
            ExclusionConstraint(
                name="resident_periods_do_not_overlap",
                expressions=[
                    ("resident", RangeOperators.EQUAL),
                    ("valid", RangeOperators.OVERLAPS),
                ],
            ),
            models.CheckConstraint(condition=~Q(valid__isempty=True), name="period_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.household_id} {self.valid}"


class Movement(models.Model):
    """異動: one row per change of a resident's record. Append-only (a trigger refuses changes)."""

    class Kind(models.TextChoices):
        MOVE_IN = "move_in", _("転入")
        MOVE_OUT = "move_out", _("転出")
        RELOCATION = "relocation", _("転居")
        BIRTH = "birth", _("出生")
        DEATH = "death", _("死亡")
        HOUSEHOLD_CHANGE = "household_change", _("世帯変更")
        CORRECTION = "correction", _("職権修正")

    resident = models.ForeignKey(
        Resident, verbose_name=_("住民"), on_delete=models.PROTECT, related_name="movements"
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("世帯"),
        on_delete=models.PROTECT,
        related_name="movements",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("異動の種類"), max_length=20, choices=Kind.choices)
    notified_on = models.DateField(_("届出日"))
    effective_on = models.DateField(_("異動日"))
    previous = models.JSONField(_("異動前"), default=dict, blank=True)
    new = models.JSONField(_("異動後"), default=dict, blank=True)
    reason = models.CharField(_("理由・備考"), max_length=200, blank=True)
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("処理した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("記録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("異動")
        verbose_name_plural = _("異動")
        ordering = ["effective_on", "id"]
        indexes = [models.Index(fields=["resident", "effective_on"], name="movement_resident_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "move_in",
                        "move_out",
                        "relocation",
                        "birth",
                        "death",
                        "household_change",
                        "correction",
                    ]
                ),
                name="movement_kind_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.effective_on} {self.resident_id}"


class ActivationCode(models.Model):
    """A one-time code, mailed to the registered address, that links a portal account."""

    resident = models.ForeignKey(
        Resident, verbose_name=_("住民"), on_delete=models.CASCADE, related_name="activation_codes"
    )
    code_hash = models.CharField(_("照合用ハッシュ"), max_length=64, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("発行した職員"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("発行日時"), auto_now_add=True)
    expires_at = models.DateTimeField(_("有効期限"))
    used_at = models.DateTimeField(_("使用日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("無効化日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("利用者登録コード")
        verbose_name_plural = _("利用者登録コード")

    def __str__(self) -> str:
        return f"{self.resident_id} {self.issued_at:%Y-%m-%d}"


class LinkAttempt(models.Model):
    """One try at /my/link/. Failed tries are counted to lock out guessing."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("利用者"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    attempted_at = models.DateTimeField(_("日時"), auto_now_add=True, db_index=True)
    succeeded = models.BooleanField(_("成功"), default=False)

    class Meta:
        verbose_name = _("利用者登録の試行")
        verbose_name_plural = _("利用者登録の試行")

    def __str__(self) -> str:
        return f"{self.user_id} {self.attempted_at:%Y-%m-%d %H:%M} {self.succeeded}"
