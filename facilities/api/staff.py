"""The staff's part, each view behind the permission it names (cityhall.api.staff_with: staff,
the permission, MFA): the week calendar, registration decisions, official use (blocks),
check-in, the lottery draw, usage figures and cancellation refunds. Every read of users' names
writes an audit row, as the pages do.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from cityhall import audit
from cityhall.api import staff_with as _staff

from .. import selectors
from .. import slots as slotlib
from ..models import (
    Booking,
    CancellationRefund,
    Facility,
    LotteryRound,
    Registration,
    Unit,
)
from ..rules import add_months
from ..services import billing, bookings, lottery, registrations
from ..services.common import today
from .common import _act, _date_param, _refused
from .mine import BookingSerializer, RegistrationSerializer
from .public import RoundSerializer


class WeekCellSerializer(serializers.Serializer):
    unit = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    booking = serializers.CharField(allow_null=True)
    state = serializers.CharField(allow_null=True)
    kind = serializers.CharField(allow_null=True)
    user = serializers.CharField(allow_null=True)
    closed = serializers.BooleanField()


@extend_schema(
    parameters=[OpenApiParameter("date", date)],
    responses=WeekCellSerializer(many=True),
    summary="週間予定表（職員） / staff week calendar",
)
@api_view(["GET"])
@permission_classes([_staff("facilities.view_booking")])
def staff_week(request, code: str):
    facility = get_object_or_404(Facility, code=code)
    day = _date_param(request, "date", today())
    first = day - timedelta(days=day.weekday())
    calendar = selectors.week(facility, first=first)
    audit.record(
        action="facilities.view_week",
        request=request,
        obj=facility,
        purpose="facilities",
        details={"week": first.isoformat(), "via": "api"},
    )
    out = []
    for row in calendar["rows"]:
        for d in row["days"]:
            for c in d["cells"]:
                booking = c["booking"]
                out.append(
                    {
                        "unit": row["unit"].code,
                        "start": c["slot"].start_at.isoformat(),
                        "end": c["slot"].end_at.isoformat(),
                        "booking": booking.reference if booking else None,
                        "state": booking.state if booking else None,
                        "kind": booking.kind if booking else None,
                        "user": booking.registration.name
                        if booking and booking.registration
                        else None,
                        "closed": c["closed"],
                    }
                )
    return Response(out)


@extend_schema(
    request=inline_serializer(
        "FacilityDecision",
        {"approve": serializers.BooleanField(), "reason": serializers.CharField(required=False)},
    ),
    responses=RegistrationSerializer,
    summary="団体登録の審査 / decide a registration",
)
@api_view(["POST"])
@permission_classes([_staff("facilities.approve_registration")])
def staff_decide(request, pk: int):
    registration = get_object_or_404(Registration, pk=pk)
    try:
        made = registrations.decide(
            registration=registration,
            approve=bool(request.data.get("approve")),
            clerk=request.user,
            reason=str(request.data.get("reason", "")),
        )
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    return Response(RegistrationSerializer(made).data)


@extend_schema(
    request=inline_serializer(
        "FacilityBlock",
        {
            "unit": serializers.SlugField(),
            "starts_at": serializers.DateTimeField(),
            "ends_at": serializers.DateTimeField(),
            "reason": serializers.CharField(),
        },
    ),
    responses={201: BookingSerializer},
    summary="行政利用でコマを押さえる / block slots for official use",
)
@api_view(["POST"])
@permission_classes([_staff("facilities.block_slots")])
def staff_block(request):
    unit = get_object_or_404(Unit, code=request.data.get("unit", ""))
    try:
        starts = datetime.fromisoformat(str(request.data.get("starts_at")))
        ends = datetime.fromisoformat(str(request.data.get("ends_at")))
    except ValueError:
        return Response({"starts_at": ["ISO 8601"]}, status=status.HTTP_400_BAD_REQUEST)
    if starts.tzinfo is None:
        starts = starts.replace(tzinfo=slotlib.TOKYO)
    if ends.tzinfo is None:
        ends = ends.replace(tzinfo=slotlib.TOKYO)
    try:
        booking = bookings.block_slots(
            unit=unit,
            starts_at=starts,
            ends_at=ends,
            clerk=request.user,
            reason=str(request.data.get("reason", "")),
        )
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)


STAFF_BOOKING_ACTIONS = {
    "check-in": lambda booking, request: bookings.check_in(booking=booking, clerk=request.user),
    "no-show": lambda booking, request: bookings.mark_no_show(booking=booking, clerk=request.user),
    "facility-payment": lambda booking, request: bookings.record_facility_payment(
        booking=booking, clerk=request.user, receipt=str(request.data.get("receipt", ""))
    ),
}


@extend_schema(
    request=inline_serializer(
        "FacilityStaffBookingAction", {"receipt": serializers.CharField(required=False)}
    ),
    responses=BookingSerializer,
    summary="利用確認・無断不使用・施設窓口での収納 (check-in, no-show, facility-payment)",
)
@api_view(["POST"])
@permission_classes([_staff("facilities.check_in_booking")])
def staff_booking_action(request, pk: int, action: str):
    booking = get_object_or_404(Booking, pk=pk)
    handler = STAFF_BOOKING_ACTIONS.get(action)
    step = (lambda: handler(booking, request)) if handler else None
    return _act(booking, step, BookingSerializer)


class StaffRoundSerializer(RoundSerializer):
    percent = serializers.IntegerField(read_only=True)
    draw_error = serializers.CharField(read_only=True)

    class Meta(RoundSerializer.Meta):
        fields = [*RoundSerializer.Meta.fields, "percent", "draw_error"]


@extend_schema(responses=StaffRoundSerializer, summary="抽選の進み具合（職員）")
@api_view(["GET"])
@permission_classes([_staff("facilities.view_lotteryround")])
def staff_round(request, code: str):
    round_ = get_object_or_404(LotteryRound, code=code)
    return Response(StaffRoundSerializer(round_).data)


@extend_schema(
    request=None,
    responses=StaffRoundSerializer,
    summary="抽選の操作（職員）: open, close, draw, publish",
)
@api_view(["POST"])
@permission_classes([_staff("facilities.run_draw")])
def staff_round_action(request, code: str, action: str):
    round_ = get_object_or_404(LotteryRound, code=code)
    steps = {
        "open": lambda: lottery.open_round(round_=round_),
        "close": lambda: lottery.close_round(round_=round_),
        "draw": lambda: lottery.start_draw(round_=round_, clerk=request.user),
        "publish": lambda: lottery.publish(round_=round_, clerk=request.user),
    }
    return _act(round_, steps.get(action), StaffRoundSerializer)


class UsageRowSerializer(serializers.Serializer):
    month = serializers.DateField()
    facility = serializers.CharField()
    unit = serializers.CharField()
    offered_hours = serializers.FloatField()
    booked_hours = serializers.FloatField()
    rate = serializers.FloatField()
    bookings = serializers.IntegerField()
    no_shows = serializers.IntegerField()


@extend_schema(
    parameters=[OpenApiParameter("first", date), OpenApiParameter("last", date)],
    responses=UsageRowSerializer(many=True),
    summary="稼働率（職員） / usage by unit and month",
)
@api_view(["GET"])
@permission_classes([_staff("facilities.view_facility_stats")])
def staff_usage(request):
    this_month = today().replace(day=1)
    first = _date_param(request, "first", add_months(this_month, -5)).replace(day=1)
    last = _date_param(request, "last", this_month).replace(day=1)
    if last < first or (last.year - first.year) * 12 + last.month - first.month > 23:
        raise serializers.ValidationError({"last": "within 24 months after first"})
    rows = selectors.usage(first_month=first, last_month=last)
    return Response(
        [
            {
                "month": row["month"],
                "facility": row["unit"].facility.code,
                "unit": row["unit"].code,
                **{
                    k: row[k]
                    for k in ("offered_hours", "booked_hours", "rate", "bookings", "no_shows")
                },
            }
            for row in rows
        ]
    )


class StaffRegistrationSerializer(RegistrationSerializer):
    representative = serializers.EmailField(source="representative.email", read_only=True)
    members = serializers.SerializerMethodField()

    class Meta(RegistrationSerializer.Meta):
        fields = [*RegistrationSerializer.Meta.fields, "representative", "members"]

    def get_members(self, obj) -> list[dict]:
        return [
            {"name": m.name, "name_kana": m.name_kana, "relation": m.relation}
            for m in obj.members.all()
        ]


@extend_schema(
    parameters=[OpenApiParameter("state", str), OpenApiParameter("q", str)],
    responses=StaffRegistrationSerializer(many=True),
    summary="利用者登録の一覧（職員） / registrations",
)
@api_view(["GET"])
@permission_classes([_staff("facilities.view_registration")])
def staff_registrations(request):
    state = request.query_params.get("state", "pending")
    found = selectors.staff_registrations(
        state=state if state in Registration.State.values else "",
        query=request.query_params.get("q", "").strip(),
    ).prefetch_related("members")[:200]
    audit.record(
        action="facilities.view_registrations",
        request=request,
        purpose="facilities",
        details={"state": state, "via": "api"},
    )
    return Response(StaffRegistrationSerializer(found, many=True).data)


@extend_schema(
    responses=BookingSerializer(many=True),
    summary="今日の予約（利用確認・職員） / today's bookings at a facility",
)
@api_view(["GET"])
@permission_classes([_staff("facilities.check_in_booking")])
def staff_checkin(request, code: str):
    facility = get_object_or_404(Facility, code=code)
    found = selectors.bookings_on(facility, today())
    audit.record(
        action="facilities.view_checkin",
        request=request,
        obj=facility,
        purpose="facilities",
        details={"via": "api"},
    )
    data = BookingSerializer(found, many=True).data
    for item, booking in zip(data, found, strict=True):
        item["user"] = booking.registration.name if booking.registration else None
    return Response(data)


class RefundSerializer(serializers.ModelSerializer):
    booking = serializers.CharField(source="booking.reference", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = CancellationRefund
        fields = [
            "id",
            "booking",
            "fee_paid",
            "percent",
            "amount",
            "state",
            "state_label",
            "reduced_at",
            "refunded_at",
        ]


@extend_schema(responses=RefundSerializer(many=True), summary="取消による還付（職員）")
@api_view(["GET"])
@permission_classes([_staff("facilities.process_refund")])
def staff_refunds(request):
    found = CancellationRefund.objects.select_related("booking").order_by("state", "-created_at")
    return Response(RefundSerializer(found[:200], many=True).data)


@extend_schema(
    request=None,
    responses=RefundSerializer,
    summary="還付の手続き（職員）: reduce (first person), pay (a second person)",
)
@api_view(["POST"])
@permission_classes([_staff("facilities.process_refund")])
def staff_refund_action(request, pk: int, action: str):
    refund = get_object_or_404(CancellationRefund, pk=pk)
    steps = {
        "reduce": lambda: billing.reduce_for_refund(refund=refund, clerk=request.user),
        "pay": lambda: billing.pay_refund(refund=refund, clerk=request.user),
    }
    return _act(refund, steps.get(action), RefundSerializer)
