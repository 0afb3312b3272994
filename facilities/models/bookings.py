"""Bookings (予約): first-come holds, lottery wins, recurring group use, official use; their
events, equipment, rejected occurrences and cancellation refunds."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# The states in which a booking occupies its unit's time. PostgreSQL's exclusion constraint
# refuses two of these overlapping on one unit, whatever the code above it does: the race
# Helsinki's Tilavarauspalvelu fixed with a second check after insert (PR #1696) cannot happen.
ACTIVE_STATES = ("held", "won", "confirmed", "reserved", "paid", "used", "no_show")


class Booking(models.Model):
    class Kind(models.TextChoices):
        FIRST_COME = "first_come", _("随時予約")
        LOTTERY = "lottery", _("抽選")
        RECURRING = "recurring", _("定期利用")
        OFFICIAL = "official", _("行政利用")

    class State(models.TextChoices):
        HELD = "held", _("仮押さえ（お支払い待ち）")
        WON = "won", _("当選（当選確認待ち）")
        CONFIRMED = "confirmed", _("予約確定（お支払い待ち）")
        RESERVED = "reserved", _("予約確定")
        PAID = "paid", _("予約確定（支払済み）")
        USED = "used", _("利用済み")
        NO_SHOW = "no_show", _("無断不使用")
        CANCELLED = "cancelled", _("取消")
        EXPIRED = "expired", _("期限切れ")
        FORFEITED = "forfeited", _("当選失効")

    # Allowed transitions, enforced by the services (and the exclusion constraint keeps what
    # matters most: no two active bookings overlap).
    TRANSITIONS = {
        "held": {"paid", "confirmed", "reserved", "expired", "cancelled"},
        "won": {"confirmed", "reserved", "paid", "forfeited", "cancelled"},
        "confirmed": {"paid", "forfeited", "expired", "cancelled"},
        "reserved": {"used", "no_show", "cancelled"},
        "paid": {"used", "no_show", "cancelled"},
        "used": set(),
        "no_show": set(),
        # A payment that arrives after a hold expired revives it when the slot is still free.
        "expired": {"paid"},
        "cancelled": set(),
        "forfeited": set(),
    }

    class Rate(models.TextChoices):
        RESIDENT = "resident", _("市内個人")
        GROUP = "group", _("団体")
        NONRESIDENT = "nonresident", _("市外")
        OFFICIAL = "official", _("行政利用（無料）")

    reference = models.CharField(_("予約番号"), max_length=12, unique=True)
    unit = models.ForeignKey(
        "facilities.Unit", verbose_name=_("室場"), on_delete=models.PROTECT, related_name="bookings"
    )
    during = DateTimeRangeField(_("利用日時"))
    kind = models.CharField(_("予約の種類"), max_length=12, choices=Kind.choices)
    state = models.CharField(_("状態"), max_length=12, choices=State.choices)
    registration = models.ForeignKey(
        "facilities.Registration",
        verbose_name=_("利用者"),
        on_delete=models.PROTECT,
        related_name="bookings",
        null=True,
        blank=True,
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("予約したアカウント"),
        on_delete=models.PROTECT,
        related_name="facility_bookings",
        null=True,
        blank=True,
    )
    series = models.ForeignKey(
        "facilities.Series",
        verbose_name=_("定期利用"),
        on_delete=models.PROTECT,
        related_name="bookings",
        null=True,
        blank=True,
    )
    entry = models.OneToOneField(
        "facilities.Entry",
        verbose_name=_("抽選の申込"),
        on_delete=models.PROTECT,
        related_name="booking",
        null=True,
        blank=True,
    )
    rate = models.CharField(_("料金区分"), max_length=12, choices=Rate.choices)
    slot_fee = models.PositiveIntegerField(_("使用料"), default=0)
    equipment_fee = models.PositiveIntegerField(_("付帯設備使用料"), default=0)
    fee = models.PositiveIntegerField(_("合計"), default=0)
    # The payments charge billing this booking (origin facilities.booking:<id> or, for a
    # recurring series, facilities.series:<id>); ids only, payments owns the table.
    charge_id = models.BigIntegerField(_("調定ID"), null=True, blank=True)
    hold_expires_at = models.DateTimeField(_("仮押さえの期限"), null=True, blank=True)
    pay_by = models.DateTimeField(_("支払期限"), null=True, blank=True)
    paid_at = models.DateTimeField(_("支払日時"), null=True, blank=True)
    # A receipt number when the fee was taken at the facility (users without a resident record
    # have no account in the city's ledger).
    facility_receipt = models.CharField(_("施設窓口の領収番号"), max_length=30, blank=True)
    checked_in_at = models.DateTimeField(_("利用確認日時"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("利用確認した職員"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    cancelled_at = models.DateTimeField(_("取消日時"), null=True, blank=True)
    cancel_reason = models.CharField(_("取消・失効の理由"), max_length=200, blank=True)
    purpose = models.CharField(_("利用目的"), max_length=100, blank=True)
    attendees = models.PositiveIntegerField(_("利用人数"), null=True, blank=True)
    created_at = models.DateTimeField(_("予約日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("予約")
        verbose_name_plural = _("予約")
        ordering = ["during"]
        permissions = [
            ("check_in_booking", _("利用確認（受付）ができる")),
            ("block_slots", _("行政利用・保守でコマを押さえられる")),
            ("view_facility_stats", _("施設の稼働率を閲覧できる")),
        ]
        indexes = [
            models.Index(fields=["registration", "state"], name="booking_registration_state"),
            models.Index(
                fields=["hold_expires_at"], name="booking_open_holds", condition=Q(state="held")
            ),
            models.Index(
                fields=["pay_by"],
                name="booking_awaiting_payment",
                condition=Q(state__in=["won", "confirmed"]),
            ),
        ]
        constraints = [
            ExclusionConstraint(
                name="no_double_booking",
                expressions=[("unit", RangeOperators.EQUAL), ("during", RangeOperators.OVERLAPS)],
                condition=Q(state__in=ACTIVE_STATES),
            ),
            models.CheckConstraint(condition=~Q(during__isempty=True), name="booking_not_empty"),
            models.CheckConstraint(
                condition=Q(fee=F("slot_fee") + F("equipment_fee")), name="booking_fee_adds_up"
            ),
            models.CheckConstraint(
                condition=~Q(state="held") | Q(hold_expires_at__isnull=False),
                name="held_booking_has_expiry",
            ),
            models.CheckConstraint(
                condition=Q(kind="official") | Q(registration__isnull=False),
                name="booking_has_user_unless_official",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def starts_at(self):
        return self.during.lower

    @property
    def ends_at(self):
        return self.during.upper

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class BookingEquipment(models.Model):
    booking = models.ForeignKey(
        Booking, verbose_name=_("予約"), on_delete=models.CASCADE, related_name="equipment"
    )
    equipment = models.ForeignKey(
        "facilities.Equipment", verbose_name=_("付帯設備"), on_delete=models.PROTECT
    )
    quantity = models.PositiveSmallIntegerField(_("数量"), default=1)
    fee = models.PositiveIntegerField(_("使用料"))

    class Meta:
        verbose_name = _("予約の付帯設備")
        verbose_name_plural = _("予約の付帯設備")
        constraints = [
            models.UniqueConstraint(fields=["booking", "equipment"], name="equipment_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="equipment_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.booking} {self.equipment} ×{self.quantity}"


class BookingEvent(models.Model):
    """Every change of a booking's state (append-only: a trigger refuses UPDATE and DELETE)."""

    booking = models.ForeignKey(
        Booking, verbose_name=_("予約"), on_delete=models.PROTECT, related_name="events"
    )
    from_state = models.CharField(_("変更前"), max_length=12, blank=True)
    to_state = models.CharField(_("変更後"), max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作した人"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reason = models.CharField(_("理由"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("予約の履歴")
        verbose_name_plural = _("予約の履歴")
        ordering = ["booking", "id"]

    def __str__(self) -> str:
        return f"{self.booking} {self.from_state}→{self.to_state}"


class Series(models.Model):
    """定期利用: a group's weekly use of one unit and period over a date range."""

    registration = models.ForeignKey(
        "facilities.Registration",
        verbose_name=_("団体"),
        on_delete=models.PROTECT,
        related_name="series",
    )
    unit = models.ForeignKey(
        "facilities.Unit", verbose_name=_("室場"), on_delete=models.PROTECT, related_name="+"
    )
    weekday = models.PositiveSmallIntegerField(_("曜日"))
    starts = models.TimeField(_("開始時刻"))
    ends = models.TimeField(_("終了時刻"))
    first_date = models.DateField(_("初回"))
    last_date = models.DateField(_("最終回"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作成者"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    charge_id = models.BigIntegerField(_("調定ID"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("定期利用")
        verbose_name_plural = _("定期利用")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_date__lte=F("last_date")), name="series_dates_in_order"
            ),
            models.CheckConstraint(condition=Q(starts__lt=F("ends")), name="series_times"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="series_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.registration} {self.unit} {self.first_date}–{self.last_date}"


class RejectedOccurrence(models.Model):
    """A date of a series that could not be booked, and why (shown to the group)."""

    class Reason(models.TextChoices):
        CLOSED_DAY = "closed_day", _("休館日")
        OVERLAP = "overlap", _("ほかの予約と重なる")
        OUTSIDE_HOURS = "outside_hours", _("開館時間外")
        CLOSURE = "closure", _("臨時休館・保守点検")
        NOT_BOOKABLE = "not_bookable", _("予約受付の期間外（抽選の対象期間など）")

    series = models.ForeignKey(
        Series,
        verbose_name=_("定期利用"),
        on_delete=models.CASCADE,
        related_name="rejected_occurrences",
    )
    starts_at = models.DateTimeField(_("開始"))
    ends_at = models.DateTimeField(_("終了"))
    reason = models.CharField(_("理由"), max_length=20, choices=Reason.choices)

    class Meta:
        verbose_name = _("予約できなかった回")
        verbose_name_plural = _("予約できなかった回")
        ordering = ["series", "starts_at"]

    def __str__(self) -> str:
        return f"{self.series} {self.starts_at:%Y-%m-%d} {self.get_reason_display()}"


class CancellationRefund(models.Model):
    """還付: the part of a paid fee a cancellation gives back, by the refund schedule.

    Two people: one clerk reduces the charge to what the city keeps (the excess becomes the
    payer's credit in payments), another pays the credit back. The database refuses the same
    person doing both."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("還付の手続き待ち")
        REDUCED = "reduced", _("調定を減額済み（還付待ち）")
        REFUNDED = "refunded", _("還付済み")

    booking = models.OneToOneField(
        Booking, verbose_name=_("予約"), on_delete=models.PROTECT, related_name="refund"
    )
    fee_paid = models.PositiveIntegerField(_("支払済みの使用料"))
    percent = models.PositiveSmallIntegerField(_("還付率（%）"))
    amount = models.PositiveIntegerField(_("還付額"))
    state = models.CharField(
        _("状態"), max_length=12, choices=State.choices, default=State.REQUESTED
    )
    created_at = models.DateTimeField(_("受付日時"), auto_now_add=True)
    reduced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("減額した職員"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reduced_at = models.DateTimeField(_("減額日時"), null=True, blank=True)
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("還付した職員"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    refunded_at = models.DateTimeField(_("還付日時"), null=True, blank=True)
    payments_refund_id = models.BigIntegerField(_("還付ID"), null=True, blank=True)

    class Meta:
        verbose_name = _("取消による還付")
        verbose_name_plural = _("取消による還付")
        ordering = ["-created_at"]
        permissions = [("process_refund", _("取消による還付を処理できる"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__lte=F("fee_paid")) & Q(percent__lte=100),
                name="refund_within_fee",
            ),
            models.CheckConstraint(
                condition=Q(refunded_by__isnull=True) | ~Q(refunded_by=F("reduced_by")),
                name="refund_needs_a_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking} {self.amount}"
