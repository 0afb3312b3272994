"""Facilities (施設), their bookable units (室場), fixed periods, opening hours, closures,
equipment (付帯設備) and photos."""

from __future__ import annotations

from django.contrib.gis.db import models as gis_models
from django.contrib.postgres.fields import DateTimeRangeField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def _english() -> bool:
    return (get_language() or "ja").startswith("en")


class Named(models.Model):
    """A Japanese name and an English one; ``name`` is the one for the page's language."""

    name_ja = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("名称（英語）"), max_length=120)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name_ja

    @property
    def name(self) -> str:
        return self.name_en if _english() and self.name_en else self.name_ja


class Facility(Named):
    class Kind(models.TextChoices):
        GYM = "gym", _("体育館")
        HALL = "hall", _("ホール")
        MEETING = "meeting", _("会議室")
        TENNIS = "tennis", _("テニスコート")
        FIELD = "field", _("運動場")
        MUSIC = "music", _("音楽室")
        JAPANESE = "japanese", _("和室")
        COOKING = "cooking", _("調理室")

    code = models.SlugField(_("施設コード"), max_length=40, unique=True)
    kind = models.CharField(_("施設の種類"), max_length=20, choices=Kind.choices)
    area_ja = models.CharField(_("地区"), max_length=40)
    area_en = models.CharField(_("地区（英語）"), max_length=60, blank=True)
    address = models.CharField(_("所在地"), max_length=200)
    location = gis_models.PointField(_("位置"), srid=6668)
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    description_ja = models.TextField(_("施設の説明"), blank=True)
    description_en = models.TextField(_("施設の説明（英語）"), blank=True)
    accessibility_ja = models.TextField(_("バリアフリー情報"), blank=True)
    accessibility_en = models.TextField(_("バリアフリー情報（英語）"), blank=True)
    # The lottery draws slots this many months after the entry month: 2 for most facilities,
    # 6 for large halls whose users plan concerts and conferences further ahead.
    months_ahead = models.PositiveSmallIntegerField(_("抽選の対象（何か月先）"), default=2)
    # Tiers of the lottery, best first: lists of applicant classes ("resident_group",
    # "group", "resident", "nonresident"). Empty: everyone in one tier.
    tiers = models.JSONField(_("抽選の優先順位"), default=list, blank=True)
    closed_on_holidays = models.BooleanField(_("祝日は休館"), default=False)
    year_end_closed = models.BooleanField(_("年末年始（12月29日〜1月3日）は休館"), default=True)
    checkin_required = models.BooleanField(_("利用確認（受付）が必要"), default=True)
    active = models.BooleanField(_("公開中"), default=True)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        verbose_name = _("施設")
        verbose_name_plural = _("施設")
        ordering = ["order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(months_ahead__gte=1) & Q(months_ahead__lte=12),
                name="facility_months_ahead_range",
            ),
        ]

    @property
    def area(self) -> str:
        return self.area_en if _english() and self.area_en else self.area_ja

    @property
    def description(self) -> str:
        return self.description_en if _english() and self.description_en else self.description_ja

    @property
    def accessibility(self) -> str:
        return (
            self.accessibility_en if _english() and self.accessibility_en else self.accessibility_ja
        )


class OpeningHours(models.Model):
    """開館時間 of one weekday; a weekday without a row is the facility's weekly closed day."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("月曜日")
        TUESDAY = 1, _("火曜日")
        WEDNESDAY = 2, _("水曜日")
        THURSDAY = 3, _("木曜日")
        FRIDAY = 4, _("金曜日")
        SATURDAY = 5, _("土曜日")
        SUNDAY = 6, _("日曜日")

    facility = models.ForeignKey(
        Facility, verbose_name=_("施設"), on_delete=models.CASCADE, related_name="hours"
    )
    weekday = models.PositiveSmallIntegerField(_("曜日"), choices=Weekday.choices)
    opens = models.TimeField(_("開館"))
    closes = models.TimeField(_("閉館"))

    class Meta:
        verbose_name = _("開館時間")
        verbose_name_plural = _("開館時間")
        ordering = ["facility", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "weekday"], name="hours_one_per_weekday"),
            models.CheckConstraint(condition=Q(opens__lt=F("closes")), name="hours_open_first"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="hours_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Unit(Named):
    """室場: what is booked — a half of the gym, a meeting room, one tennis court."""

    class SlotMode(models.TextChoices):
        FIXED = "fixed", _("区分（午前・午後・夜間）")
        HOURLY = "hourly", _("1時間単位")

    facility = models.ForeignKey(
        Facility, verbose_name=_("施設"), on_delete=models.PROTECT, related_name="units"
    )
    code = models.SlugField(_("室場コード"), max_length=40, unique=True)
    capacity = models.PositiveIntegerField(_("定員"))
    floor_area_m2 = models.PositiveIntegerField(_("面積（㎡）"), null=True, blank=True)
    location = gis_models.PointField(_("位置"), srid=6668, null=True, blank=True)
    accessibility_ja = models.TextField(_("バリアフリー情報"), blank=True)
    accessibility_en = models.TextField(_("バリアフリー情報（英語）"), blank=True)
    slot_mode = models.CharField(
        _("予約の単位"), max_length=10, choices=SlotMode.choices, default=SlotMode.FIXED
    )
    slot_minutes = models.PositiveSmallIntegerField(_("1コマの分数"), default=60)
    max_slots_per_booking = models.PositiveSmallIntegerField(_("1回に予約できるコマ数"), default=3)
    # Hourly fees (yen per slot); fixed periods carry their own fees.
    fee_resident = models.PositiveIntegerField(_("使用料（市内個人）"), default=0)
    fee_group = models.PositiveIntegerField(_("使用料（団体）"), default=0)
    fee_nonresident = models.PositiveIntegerField(_("使用料（市外）"), default=0)
    # Popular units go by monthly lottery first; the rest are first-come only.
    lottery = models.BooleanField(_("抽選の対象"), default=False)
    active = models.BooleanField(_("公開中"), default=True)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        verbose_name = _("室場")
        verbose_name_plural = _("室場")
        ordering = ["facility", "order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_minutes__in=[30, 60, 90, 120]), name="unit_slot_minutes"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="unit_capacity_positive"),
            models.CheckConstraint(
                condition=Q(max_slots_per_booking__gte=1), name="unit_max_slots_positive"
            ),
        ]

    @property
    def accessibility(self) -> str:
        return (
            self.accessibility_en if _english() and self.accessibility_en else self.accessibility_ja
        )


class Period(Named):
    """A fixed period (区分) of a unit, with its fees: 午前 9:00–12:00 and so on."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("室場"), on_delete=models.CASCADE, related_name="periods"
    )
    code = models.SlugField(_("区分コード"), max_length=20)
    starts = models.TimeField(_("開始"))
    ends = models.TimeField(_("終了"))
    fee_resident = models.PositiveIntegerField(_("使用料（市内個人）"))
    fee_group = models.PositiveIntegerField(_("使用料（団体）"))
    fee_nonresident = models.PositiveIntegerField(_("使用料（市外）"))

    class Meta:
        verbose_name = _("利用区分")
        verbose_name_plural = _("利用区分")
        ordering = ["unit", "starts"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "code"], name="period_code_per_unit"),
            models.CheckConstraint(condition=Q(starts__lt=F("ends")), name="period_starts_first"),
        ]


class Equipment(Named):
    """付帯設備: lent with a booking for a fee (a piano, a projector, badminton nets)."""

    facility = models.ForeignKey(
        Facility, verbose_name=_("施設"), on_delete=models.CASCADE, related_name="equipment"
    )
    # Only for this unit; empty: any unit of the facility.
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("室場"),
        on_delete=models.CASCADE,
        related_name="equipment",
        null=True,
        blank=True,
    )
    fee = models.PositiveIntegerField(_("使用料（1回）"))
    quantity = models.PositiveSmallIntegerField(_("数量"), default=1)

    class Meta:
        verbose_name = _("付帯設備")
        verbose_name_plural = _("付帯設備")
        ordering = ["facility", "name_ja"]


class Closure(models.Model):
    """An ad-hoc closure or maintenance block (臨時休館・保守点検) of a facility or one unit."""

    class Kind(models.TextChoices):
        MAINTENANCE = "maintenance", _("保守点検")
        CLOSED = "closed", _("臨時休館")

    facility = models.ForeignKey(
        Facility, verbose_name=_("施設"), on_delete=models.CASCADE, related_name="closures"
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("室場"),
        on_delete=models.CASCADE,
        related_name="closures",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("種類"), max_length=20, choices=Kind.choices)
    during = DateTimeRangeField(_("期間"))
    reason = models.CharField(_("理由"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("休館・保守")
        verbose_name_plural = _("休館・保守")
        constraints = [
            models.CheckConstraint(condition=~Q(during__isempty=True), name="closure_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.facility} {self.get_kind_display()}"


class Photo(models.Model):
    facility = models.ForeignKey(
        Facility, verbose_name=_("施設"), on_delete=models.CASCADE, related_name="photos"
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("室場"),
        on_delete=models.CASCADE,
        related_name="photos",
        null=True,
        blank=True,
    )
    image = models.ImageField(_("写真"), upload_to="facilities/photos/")
    caption_ja = models.CharField(_("説明"), max_length=100)
    caption_en = models.CharField(_("説明（英語）"), max_length=120, blank=True)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        verbose_name = _("写真")
        verbose_name_plural = _("写真")
        ordering = ["facility", "order", "id"]

    def __str__(self) -> str:
        return self.caption_ja

    @property
    def caption(self) -> str:
        return self.caption_en if _english() and self.caption_en else self.caption_ja
