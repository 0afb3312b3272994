"""Facility reservations API (DRF, described in the OpenAPI schema): public facilities,
availability and lottery rounds; a user's registrations, bookings and entries; and the staff's
week calendar, approvals, official use, check-in, the draw and usage. Thin: every change goes
through the services, and every staff read of users' names writes an audit row, as the pages do.

Kept in one file: one OpenAPI tag of thin views over the services; the serializers and permission
classes are shared across the public, user and staff endpoints. It is the next candidate for a
split (public, user, staff) when it grows further.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from cityhall import audit
from cityhall.api import StrictCharField
from cityhall.api import staff_with as _staff

from . import selectors
from . import slots as slotlib
from .models import (
    Booking,
    CancellationRefund,
    Entry,
    Facility,
    LotteryRound,
    Registration,
    Series,
    Unit,
)
from .rules import add_months
from .services import billing, bookings, lottery, registrations
from .services.common import now, rules, today

MAX_DAYS = 31


def _refused(error: ValidationError | PermissionDenied) -> Response:
    if isinstance(error, PermissionDenied):
        return Response({"detail": str(error)}, status=status.HTTP_403_FORBIDDEN)
    if hasattr(error, "error_dict"):
        return Response(
            {
                field: [str(m) for e in errors for m in e.messages]
                for field, errors in error.error_dict.items()
            },
            status=status.HTTP_409_CONFLICT,
        )
    return Response({"detail": error.messages}, status=status.HTTP_409_CONFLICT)


# --- public ------------------------------------------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_ja = serializers.CharField()
    name_en = serializers.CharField()
    starts = serializers.TimeField(format="%H:%M")
    ends = serializers.TimeField(format="%H:%M")
    fee_resident = serializers.IntegerField()
    fee_group = serializers.IntegerField()
    fee_nonresident = serializers.IntegerField()


class UnitSerializer(serializers.ModelSerializer):
    periods = PeriodSerializer(many=True, read_only=True)

    class Meta:
        model = Unit
        fields = [
            "code",
            "name_ja",
            "name_en",
            "capacity",
            "floor_area_m2",
            "accessibility_ja",
            "accessibility_en",
            "slot_mode",
            "slot_minutes",
            "max_slots_per_booking",
            "fee_resident",
            "fee_group",
            "fee_nonresident",
            "lottery",
            "periods",
        ]


class FacilitySerializer(serializers.ModelSerializer):
    lon = serializers.SerializerMethodField()
    lat = serializers.SerializerMethodField()

    class Meta:
        model = Facility
        fields = [
            "code",
            "name_ja",
            "name_en",
            "kind",
            "area_ja",
            "area_en",
            "address",
            "phone",
            "lon",
            "lat",
            "months_ahead",
        ]

    def get_lon(self, obj) -> float:
        return obj.location.x

    def get_lat(self, obj) -> float:
        return obj.location.y


class HoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField()
    opens = serializers.TimeField(format="%H:%M")
    closes = serializers.TimeField(format="%H:%M")


class EquipmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name_ja = serializers.CharField()
    name_en = serializers.CharField()
    fee = serializers.IntegerField()
    quantity = serializers.IntegerField()
    unit = serializers.CharField(source="unit.code", default=None, read_only=True, allow_null=True)


class FacilityDetailSerializer(FacilitySerializer):
    units = serializers.SerializerMethodField()
    hours = HoursSerializer(many=True, read_only=True)
    equipment = EquipmentSerializer(many=True, read_only=True)

    class Meta(FacilitySerializer.Meta):
        fields = [
            *FacilitySerializer.Meta.fields,
            "description_ja",
            "description_en",
            "accessibility_ja",
            "accessibility_en",
            "closed_on_holidays",
            "year_end_closed",
            "tiers",
            "units",
            "hours",
            "equipment",
        ]

    @extend_schema_field(UnitSerializer(many=True))
    def get_units(self, obj) -> list[dict]:
        return UnitSerializer(
            obj.units.filter(active=True).order_by("order", "code"), many=True
        ).data


@extend_schema(
    parameters=[OpenApiParameter("kind", str), OpenApiParameter("area", str)],
    responses=FacilitySerializer(many=True),
    summary="施設の一覧 / facilities",
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def facility_list(request):
    found = Facility.objects.filter(active=True)
    if request.query_params.get("kind"):
        found = found.filter(kind=request.query_params["kind"])
    if request.query_params.get("area"):
        found = found.filter(area_ja=request.query_params["area"])
    return Response(FacilitySerializer(found, many=True).data)


@extend_schema(responses=FacilityDetailSerializer, summary="施設の詳細 / one facility")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def facility_detail(request, code: str):
    facility = get_object_or_404(Facility, code=code, active=True)
    return Response(FacilityDetailSerializer(facility).data)


class AvailabilitySlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    period = serializers.CharField(help_text="区分コード (am, pm, night); empty when hourly")
    status = serializers.ChoiceField(choices=selectors.SLOT_STATUSES)


class AvailabilityUnitSerializer(serializers.Serializer):
    facility = serializers.CharField()
    unit = serializers.CharField()
    name_ja = serializers.CharField()
    name_en = serializers.CharField()
    slots = AvailabilitySlotSerializer(many=True)


def _date_param(request, name: str, default: date) -> date:
    value = request.query_params.get(name)
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise serializers.ValidationError({name: "YYYY-MM-DD"}) from None


@extend_schema(
    parameters=[
        OpenApiParameter("kind", str, description="施設の種類 (gym, hall, meeting, tennis, …)"),
        OpenApiParameter("area", str, description="地区 (Japanese name)"),
        OpenApiParameter("facility", str, description="施設コード"),
        OpenApiParameter("from", date, description="first day (default today)"),
        OpenApiParameter(
            "days",
            {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
            description=f"number of days, 1–{MAX_DAYS} (default 7)",
        ),
    ],
    responses=AvailabilityUnitSerializer(many=True),
    summary="空き状況 / availability (fees: the facility's detail, by period)",
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def _availability_api(request):
    # The DRF face of the availability answer: its schema, and its 400s (a valid GET is
    # answered by ``availability`` before DRF is reached, with the same bytes and headers).
    first = _date_param(request, "from", today())
    try:
        days = int(request.query_params.get("days", 7))
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise serializers.ValidationError({"days": f"1–{MAX_DAYS}"})
    params = {key: request.query_params.get(key, "") for key in ("kind", "area", "facility")}
    return _availability_response(request, _availability_answer(params, first, days))


def availability(request):
    """GET /api/facilities/availability/: the most read answer of the app, public and the same
    for everyone, so a valid GET skips DRF (content negotiation, its Request) and is served
    from this process's copy when the data version in Redis says it still stands: one small
    Redis GET per request. Anything else (a bad parameter, another method) goes to DRF."""
    if request.method == "GET":
        asked = _availability_asked(request.GET)
        if asked is not None:
            return _availability_response(request, _availability_answer(*asked))
    return _availability_api(request)


# drf-spectacular (and DRF's own schema) describe the view by its class: the routed function
# carries the DRF view's, so the endpoint stays in the OpenAPI schema as it is.
availability.cls = _availability_api.cls
availability.initkwargs = _availability_api.initkwargs
availability.csrf_exempt = True


class _Answer(NamedTuple):
    version: int
    minute: int
    body: bytes
    etag: str


# The answers this process made or fetched last, by parameters: at most this many (a month of a
# facility type is about 70 kB), the oldest dropped first.
_ANSWERS: OrderedDict[str, _Answer] = OrderedDict()
_ANSWERS_KEPT = 128
_ANSWERS_LOCK = threading.Lock()


def _availability_asked(query) -> tuple[dict, date, int] | None:
    """The parameters of a valid query, or None (DRF then answers the 400)."""
    try:
        # An empty `from` is refused like any other bad date (by DRF below), not read as today.
        first = date.fromisoformat(query["from"]) if "from" in query else today()
        days = int(query.get("days", 7))
    except ValueError:
        return None
    if not 1 <= days <= MAX_DAYS:
        return None
    return {key: query.get(key, "") for key in ("kind", "area", "facility")}, first, days


def _availability_answer(params: dict, first: date, days: int) -> _Answer:
    """The answer to these parameters: this process's copy, else Redis's, else computed.

    A copy stands while the data version (raised after the commit of every change of bookings,
    closures and rounds) and the minute (a slot whose start passes turns from free to past) are
    the same. The version is read before the data, so an answer computed from data older than a
    change is stored under the version before it and never served after it. Without Redis
    (version None) every answer is computed and none kept."""
    moment = now()
    minute = int(moment.timestamp() // 60)
    key = (
        "facilities:availability:answer:"
        + hashlib.sha256(json.dumps([params, first.isoformat(), days]).encode()).hexdigest()
    )
    version = selectors.availability_version_now()
    mine = _ANSWERS.get(key)
    if mine is not None and version is not None and mine[:2] == (version, minute):
        return mine
    if version is None:
        version = selectors.availability_version() if cache.is_available() else None
    shared = cache.get(key) if version is not None else None
    if shared is not None and len(shared) == 4 and tuple(shared[:2]) == (version, minute):
        answer = _Answer(*shared)
    else:
        body = _availability(params, first, days, moment)
        answer = _Answer(version or 0, minute, body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        if version is None:
            return answer
        cache.set(key, tuple(answer), timeout=120)
    with _ANSWERS_LOCK:  # threaded servers share the dict
        _ANSWERS[key] = answer
        _ANSWERS.move_to_end(key)
        while len(_ANSWERS) > _ANSWERS_KEPT:
            _ANSWERS.popitem(last=False)
    return answer


def _availability_response(request, answer: _Answer) -> HttpResponse:
    """The answer with its validator: a browser or proxy may keep it (public data, no person in
    it) but must ask again each time (no-cache), and an If-None-Match that still matches gets
    304 without the body. LocaleMiddleware adds Vary: Accept-Language."""
    response = HttpResponse(answer.body, content_type="application/json")
    response["ETag"] = answer.etag
    patch_cache_control(response, public=True, no_cache=True)
    return get_conditional_response(request, etag=answer.etag, response=response) or response


def _availability(params: dict, first: date, days: int, moment: datetime) -> bytes:
    """The answer's JSON, made by PostgreSQL in one query (selectors.availability_json)."""
    units = selectors.search_units(kind=params["kind"], area=params["area"])
    if params["facility"]:
        units = units.filter(facility__code=params["facility"])
    return selectors.availability_json(
        units,
        first=first,
        last=first + timedelta(days=days - 1),
        rules=rules(),
        today=today(),
        now=moment,
    ).encode()


class RoundSerializer(serializers.ModelSerializer):
    seed = serializers.CharField(source="seed_public", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = LotteryRound
        fields = [
            "code",
            "state",
            "state_label",
            "opens_at",
            "closes_at",
            "results_at",
            "confirm_by",
            "max_entries_per_applicant",
            "max_wins_per_applicant",
            "max_choices_per_entry",
            "algorithm",
            "seed_sha256",
            "entries_sha256",
            "seed",
        ]


@extend_schema(responses=RoundSerializer(many=True), summary="抽選の回 / lottery rounds")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def round_list(request):
    return Response(
        RoundSerializer(LotteryRound.objects.exclude(state="scheduled")[:24], many=True).data
    )


@extend_schema(responses=RoundSerializer, summary="抽選の回 / one lottery round")
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def round_detail(request, code: str):
    round_ = get_object_or_404(LotteryRound.objects.exclude(state="scheduled"), code=code)
    return Response(RoundSerializer(round_).data)


# --- a user's own ------------------------------------------------------------------------------


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


# --- staff -------------------------------------------------------------------------------------


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
    if action not in STAFF_BOOKING_ACTIONS:
        raise NotFound
    try:
        STAFF_BOOKING_ACTIONS[action](booking, request)
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    booking.refresh_from_db()
    return Response(BookingSerializer(booking).data)


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
    if action not in steps:
        raise NotFound
    try:
        steps[action]()
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    round_.refresh_from_db()
    return Response(StaffRoundSerializer(round_).data)


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


# --- more of the staff's work, and recurring use --------------------------------------------


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
    if action not in steps:
        raise NotFound
    try:
        steps[action]()
    except (ValidationError, PermissionDenied) as error:
        return _refused(error)
    refund.refresh_from_db()
    return Response(RefundSerializer(refund).data)


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
