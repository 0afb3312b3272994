"""The public part of the API (no sign-in): facilities with their units, hours, equipment and
fees, and the lottery rounds that have opened.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from ..models import (
    Facility,
    LotteryRound,
    Unit,
)


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
