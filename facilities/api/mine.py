"""A signed-in user's own: registrations (利用者登録), bookings and their actions (pay later or
online, cancel, confirm a win), lottery entries, and a group's weekly use (定期利用).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import (
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from cityhall.api import StrictCharField

from .. import selectors
from ..models import (
    Booking,
    Entry,
    LotteryRound,
    Registration,
    Series,
    Unit,
)
from ..services import bookings, lottery, registrations
from .common import _refused


class RegistrationSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Registration
        fields = [
            "id",
            "number",
            "kind",
            "kind_label",
            "state",
            "state_label",
            "name",
            "name_kana",
            "in_city",
            "valid_until",
            "lottery_barred_until",
            "rejection_reason",
        ]


class MemberInSerializer(serializers.Serializer):
    name = StrictCharField(max_length=80)
    name_kana = StrictCharField(max_length=120)
    relation = serializers.ChoiceField(choices=["lives", "works", "studies", "outside"])


class RegistrationInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["individual", "temporary", "group"])
    name = StrictCharField(max_length=100, required=False, allow_blank=True)
    name_kana = StrictCharField(max_length=150, required=False, allow_blank=True)
    phone = StrictCharField(max_length=20, required=False, allow_blank=True)
    activity = StrictCharField(max_length=200, required=False, allow_blank=True)
    members = MemberInSerializer(many=True, required=False)


@extend_schema(
    methods=["GET"], responses=RegistrationSerializer(many=True), summary="わたしの利用者登録"
)
@extend_schema(
    methods=["POST"],
    request=RegistrationInSerializer,
    responses={201: RegistrationSerializer},
    summary="利用者登録・団体登録の申請",
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated])
def my_registrations(request):
    if request.method == "GET":
        return Response(
            RegistrationSerializer(selectors.registrations_of(request.user), many=True).data
        )
    body = RegistrationInSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    fields = {k: data.get(k, "") for k in ("name", "name_kana", "phone")}
    try:
        if data["kind"] == "individual":
            made = registrations.register_individual(user=request.user, **fields)
        elif data["kind"] == "temporary":
            made = registrations.register_temporary(user=request.user, **fields)
        else:
            made = registrations.apply_group(
                user=request.user,
                activity=data.get("activity", ""),
                members=[registrations.MemberRow(**m) for m in data.get("members", [])],
                **fields,
            )
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    return Response(RegistrationSerializer(made).data, status=status.HTTP_201_CREATED)


class BookingSerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    facility = serializers.CharField(source="unit.facility.code", read_only=True)
    starts_at = serializers.DateTimeField(read_only=True)
    ends_at = serializers.DateTimeField(read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    registration = serializers.CharField(source="registration.number", read_only=True, default="")

    class Meta:
        model = Booking
        fields = [
            "id",
            "reference",
            "facility",
            "unit",
            "starts_at",
            "ends_at",
            "kind",
            "kind_label",
            "state",
            "state_label",
            "registration",
            "rate",
            "slot_fee",
            "equipment_fee",
            "fee",
            "hold_expires_at",
            "pay_by",
            "paid_at",
            "charge_id",
            "purpose",
            "attendees",
        ]


class BookingInSerializer(serializers.Serializer):
    registration = serializers.IntegerField()
    unit = serializers.SlugField()
    starts_at = serializers.DateTimeField()
    slot_count = serializers.IntegerField(min_value=1, default=1)
    equipment = serializers.DictField(child=serializers.IntegerField(min_value=0), required=False)
    purpose = serializers.CharField(max_length=100, required=False, allow_blank=True)
    attendees = serializers.IntegerField(min_value=1, required=False)


@extend_schema(methods=["GET"], responses=BookingSerializer(many=True), summary="わたしの予約")
@extend_schema(
    methods=["POST"],
    request=BookingInSerializer,
    responses={201: BookingSerializer},
    summary="先着順の予約（仮押さえ） / hold a first-come slot",
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated])
def my_bookings(request):
    if request.method == "GET":
        return Response(
            BookingSerializer(selectors.bookings_of(request.user)[:200], many=True).data
        )
    body = BookingInSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    registration = get_object_or_404(
        Registration, pk=data["registration"], representative=request.user
    )
    unit = get_object_or_404(Unit, code=data["unit"], active=True)
    try:
        booking = bookings.hold_first_come(
            registration=registration,
            user=request.user,
            unit=unit,
            starts_at=data["starts_at"],
            slot_count=data["slot_count"],
            equipment={int(k): v for k, v in (data.get("equipment") or {}).items()},
            purpose=data.get("purpose", ""),
            attendees=data.get("attendees"),
        )
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)


@extend_schema(responses=BookingSerializer, summary="わたしの予約（1件）")
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def my_booking(request, pk: int):
    booking = selectors.booking_of(request.user, pk)
    if booking is None:
        raise NotFound
    return Response(BookingSerializer(booking).data)


BOOKING_ACTIONS = ("pay-later", "cancel", "confirm-win", "pay-online")


@extend_schema(
    request=inline_serializer(
        "FacilityBookingAction", {"reason": serializers.CharField(required=False)}
    ),
    responses=BookingSerializer,
    summary="予約の操作: pay-later, pay-online (charge id for /pay/charge/<id>/), cancel, confirm-win",
    operation_id="facilities_my_booking_action",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def my_booking_action(request, pk: int, action: str):
    booking = selectors.booking_of(request.user, pk)
    if booking is None or action not in BOOKING_ACTIONS:
        raise NotFound
    try:
        if action == "pay-later":
            bookings.pay_later(booking=booking, user=request.user)
        elif action == "pay-online":
            bookings.pay_online(booking=booking, user=request.user)
        elif action == "cancel":
            bookings.cancel(
                booking=booking, actor=request.user, reason=request.data.get("reason", "")
            )
        else:
            lottery.confirm_win(booking=booking, user=request.user)
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    booking.refresh_from_db()
    return Response(BookingSerializer(booking).data)


class EntrySerializer(serializers.ModelSerializer):
    round = serializers.SlugRelatedField(slug_field="code", read_only=True)
    facility = serializers.SlugRelatedField(slug_field="code", read_only=True)
    choices = serializers.SerializerMethodField()
    won_slot = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Entry
        fields = ["id", "number", "round", "facility", "state", "choices", "won_slot", "won_rank"]

    def get_choices(self, obj) -> list[str]:
        return [c.slot.code for c in obj.choices.all()]


class EntryInSerializer(serializers.Serializer):
    registration = serializers.IntegerField()
    slots = serializers.ListField(
        child=serializers.CharField(), min_length=1, help_text="slot codes, 第1希望 first"
    )


@extend_schema(responses=EntrySerializer(many=True), summary="わたしの抽選の申込")
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def my_entries(request):
    found = (
        Entry.objects.filter(registration__representative=request.user)
        .select_related("round", "facility", "won_slot")
        .prefetch_related("choices__slot")
        .order_by("-round__month", "number")[:100]
    )
    data = EntrySerializer(found, many=True).data
    # Results are the entrant's to know only once published.
    for item, entry in zip(data, found, strict=True):
        if entry.round.state not in ("published", "finished"):
            item.update(state="entered", won_slot=None, won_rank=None)
    return Response(data)


@extend_schema(
    request=EntryInSerializer, responses={201: EntrySerializer}, summary="抽選に申し込む"
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def enter(request, code: str):
    round_ = get_object_or_404(LotteryRound, code=code)
    body = EntryInSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    registration = get_object_or_404(
        Registration, pk=body.validated_data["registration"], representative=request.user
    )
    codes = body.validated_data["slots"]
    found = dict(round_.slots.filter(code__in=codes).values_list("code", "pk"))
    if len(found) != len(codes):
        return Response({"slots": ["unknown slot code"]}, status=status.HTTP_409_CONFLICT)
    try:
        entry = lottery.enter(
            round_=round_,
            registration=registration,
            user=request.user,
            slot_ids=[found[c] for c in codes],
        )
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class SeriesInSerializer(serializers.Serializer):
    registration = serializers.IntegerField()
    unit = serializers.SlugField()
    weekday = serializers.IntegerField(min_value=0, max_value=6)
    starts = serializers.TimeField()
    ends = serializers.TimeField()
    first_date = serializers.DateField()
    last_date = serializers.DateField()


class SeriesSerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    bookings = serializers.SerializerMethodField()
    rejected = serializers.SerializerMethodField()

    class Meta:
        model = Series
        fields = [
            "id",
            "unit",
            "weekday",
            "starts",
            "ends",
            "first_date",
            "last_date",
            "charge_id",
            "bookings",
            "rejected",
        ]

    def get_bookings(self, obj) -> list[str]:
        return list(obj.bookings.order_by("during").values_list("reference", flat=True))

    def get_rejected(self, obj) -> list[dict]:
        return [
            {"start": r.starts_at, "reason": r.reason, "reason_label": r.get_reason_display()}
            for r in obj.rejected_occurrences.all()
        ]


@extend_schema(
    request=SeriesInSerializer,
    responses={201: SeriesSerializer},
    summary="定期利用の申込（団体） / weekly use for a group",
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def my_series(request):
    body = SeriesInSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    registration = get_object_or_404(
        Registration, pk=data.pop("registration"), representative=request.user
    )
    unit = get_object_or_404(Unit, code=data.pop("unit"), active=True)
    try:
        series = bookings.create_series(
            registration=registration, unit=unit, user=request.user, **data
        )
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    return Response(SeriesSerializer(series).data, status=status.HTTP_201_CREATED)
