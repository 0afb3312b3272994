"""API of the resident register. Staff search, read (with a purpose, audited), history and
register movements through the services; a resident reads only their own record."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from cityhall import audit
from cityhall.roles import is_staff_member

from . import selectors, services
from .models import Movement, Resident

VIEW_PERMISSION = "residents.view_resident"
CHANGE_PERMISSION = "residents.add_movement"


def _is_staff_reader(user) -> bool:
    return is_staff_member(user) and user.has_perm(VIEW_PERMISSION)


class ResidentAccess(permissions.BasePermission):
    """Staff with the view permission read any record; anyone else only their own."""

    def has_permission(self, request, view) -> bool:
        if not request.user.is_authenticated:
            return False
        if view.action in ("me", "retrieve"):
            return True
        if view.action in ("movements",):
            return _is_staff_reader(request.user) and request.user.has_perm(CHANGE_PERMISSION)
        return _is_staff_reader(request.user)

    def has_object_permission(self, request, view, obj: Resident) -> bool:
        if _is_staff_reader(request.user):
            return True
        return obj.user_id is not None and obj.user_id == request.user.pk


class AddressSerializer(serializers.Serializer):
    label = serializers.CharField()
    town = serializers.CharField()
    chome = serializers.IntegerField(allow_null=True)
    banchi = serializers.CharField()
    go = serializers.CharField(allow_blank=True)
    building = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField(allow_blank=True)


class MemberSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    full_name_kana = serializers.CharField(read_only=True)

    class Meta:
        model = Resident
        fields = [
            "id",
            "full_name",
            "full_name_kana",
            "birth_date",
            "sex",
            "relationship",
            "is_head",
        ]


class ResidentSummarySerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    full_name_kana = serializers.CharField(read_only=True)
    address = serializers.SerializerMethodField()

    class Meta:
        model = Resident
        fields = [
            "id",
            "resident_code",
            "full_name",
            "full_name_kana",
            "birth_date",
            "sex",
            "status",
            "address",
        ]

    def get_address(self, obj: Resident) -> str:
        return obj.household.address.label if obj.household_id else ""


class ResidentDetailSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(read_only=True)
    full_name_kana = serializers.CharField(read_only=True)
    household_number = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    members = serializers.SerializerMethodField()

    class Meta:
        model = Resident
        fields = [
            "id",
            "resident_code",
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "full_name",
            "full_name_kana",
            "birth_date",
            "sex",
            "status",
            "relationship",
            "is_head",
            "became_resident_on",
            "left_on",
            "household_number",
            "address",
            "members",
        ]

    def get_household_number(self, obj: Resident) -> str:
        return obj.household.number if obj.household_id else ""

    @extend_schema_field(AddressSerializer(allow_null=True))
    def get_address(self, obj: Resident) -> dict | None:
        if not obj.household_id:
            return None
        address = obj.household.address
        return AddressSerializer(
            {
                "label": address.label,
                "town": address.town,
                "chome": address.chome,
                "banchi": address.banchi,
                "go": address.go,
                "building": address.building,
                "postal_code": address.postal_code,
            }
        ).data

    @extend_schema_field(MemberSerializer(many=True))
    def get_members(self, obj: Resident) -> list[dict]:
        return MemberSerializer(selectors.household_members(obj), many=True).data


class StaffResidentSerializer(ResidentDetailSerializer):
    mynumber_masked = serializers.SerializerMethodField()

    class Meta(ResidentDetailSerializer.Meta):
        fields = [
            *ResidentDetailSerializer.Meta.fields,
            "registered_domicile",
            "domicile_head",
            "mynumber_masked",
        ]

    def get_mynumber_masked(self, obj: Resident) -> str:
        return services.mask_of(obj)


class ResidentRecordSerializer(ResidentDetailSerializer):
    """The schema of GET /api/residents/{id}/: a resident reading their own record gets
    ResidentDetail; staff get the same plus the fields below (so they are not required)."""

    registered_domicile = serializers.CharField(required=False, help_text="本籍 (staff only)")
    domicile_head = serializers.CharField(required=False, help_text="筆頭者 (staff only)")
    mynumber_masked = serializers.CharField(
        required=False, help_text="個人番号（マスク済み）(staff only)"
    )

    class Meta(ResidentDetailSerializer.Meta):
        fields = StaffResidentSerializer.Meta.fields


class MovementSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    household_number = serializers.CharField(source="household.number", default="", read_only=True)

    class Meta:
        model = Movement
        fields = [
            "id",
            "kind",
            "kind_display",
            "notified_on",
            "effective_on",
            "previous",
            "new",
            "reason",
            "household_number",
            "created_at",
        ]


class MovementCreateSerializer(serializers.Serializer):
    """One movement of the resident in the URL. Which fields apply depends on `kind`."""

    kind = serializers.ChoiceField(
        choices=["move_out", "relocation", "death", "household_change", "correction"]
    )
    notified_on = serializers.DateField()
    effective_on = serializers.DateField(
        help_text="異動日 (move_out, relocation, death: the day of death, household_change)"
    )
    address = serializers.CharField(required=False, help_text="relocation: the new address")
    members = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="relocation: ids of the household members who move (default: the resident)",
    )
    new_head = serializers.IntegerField(
        required=False, allow_null=True, help_text="id of the new head of household"
    )
    destination = serializers.CharField(required=False, allow_blank=True)
    former_head_relationship = serializers.CharField(required=False)
    changes = serializers.DictField(required=False, help_text="correction: field → new value")
    reason = serializers.CharField(required=False, allow_blank=True)


SEARCH_PARAMETERS = [
    OpenApiParameter("q", OpenApiTypes.STR, description="氏名・フリガナ（部分一致）・住民票コード"),
    OpenApiParameter("birth_date", OpenApiTypes.DATE, description="生年月日 YYYY-MM-DD"),
    OpenApiParameter("address", OpenApiTypes.STR, description="住所（部分一致）"),
]
PURPOSE_PARAMETER = OpenApiParameter(
    "purpose",
    OpenApiTypes.STR,
    enum=list(services.ACCESS_PURPOSES),
    description="職員の閲覧目的（必須・監査記録に残ります）/ staff access purpose, audited",
)


@extend_schema_view(
    list=extend_schema(
        summary="住民の検索 (staff)",
        parameters=SEARCH_PARAMETERS,
        responses=ResidentSummarySerializer(many=True),
    ),
    retrieve=extend_schema(
        summary="住民記録 (staff: with purpose; resident: own record only, else 404)",
        parameters=[PURPOSE_PARAMETER],
        responses={200: ResidentRecordSerializer, 404: OpenApiResponse(description="not found")},
    ),
)
class ResidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [ResidentAccess]
    serializer_class = ResidentSummarySerializer
    pagination_class = None
    queryset = Resident.objects.select_related("household__address")

    def get_queryset(self):
        qs = super().get_queryset()
        if _is_staff_reader(self.request.user):
            return qs
        # A resident sees only their own row: anyone else's id is simply not found.
        return qs.filter(user=self.request.user)

    def list(self, request: Request) -> Response:
        birth_date = None
        if "birth_date" in request.query_params:
            try:
                birth_date = serializers.DateField().to_internal_value(
                    request.query_params["birth_date"]
                )
            except ValidationError as error:
                raise ValidationError({"birth_date": error.detail}) from None
        results = selectors.search_residents(
            request.query_params.get("q", ""),
            birth_date=birth_date,
            address=request.query_params.get("address", ""),
            include_former=True,
        )
        services.record_search(request=request, results=results)
        return Response(ResidentSummarySerializer(results, many=True).data)

    def retrieve(self, request: Request, pk=None) -> Response:
        resident = self.get_object()
        if _is_staff_reader(request.user):
            # Staff may not read a record without saying why (DESIGN.md §4): refused, not invalid.
            if not request.query_params.get("purpose"):
                raise PermissionDenied(services.MSG_PURPOSE_REQUIRED)
            try:
                services.record_resident_view(
                    resident=resident,
                    actor=request.user,
                    purpose=request.query_params.get("purpose", ""),
                    request=request,
                )
            except DjangoValidationError as error:
                raise ValidationError(error.message_dict) from error
            return Response(StaffResidentSerializer(resident).data)
        return Response(ResidentDetailSerializer(resident).data)

    @extend_schema(
        summary="自分の住民記録 / my own record (no My Number)",
        responses={200: ResidentDetailSerializer, 404: OpenApiResponse(description="not linked")},
    )
    @action(detail=False, methods=["get"])
    def me(self, request: Request) -> Response:
        resident = selectors.resident_for_user(request.user)
        if resident is None:
            raise NotFound(_("住民情報と連携していません。"))
        return Response(ResidentDetailSerializer(resident).data)

    @extend_schema(summary="異動履歴 (staff)", responses=MovementSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk=None) -> Response:
        resident = self.get_object()
        audit.record_read(
            request=request,
            action="residents.history_viewed",
            obj=resident,
            purpose=gettext_noop("異動履歴の確認"),
        )
        return Response(MovementSerializer(selectors.movement_history(resident), many=True).data)

    @extend_schema(
        summary="異動の届出 (staff)",
        request=MovementCreateSerializer,
        responses={201: MovementSerializer(many=True), 400: OpenApiResponse(description="invalid")},
    )
    @action(detail=True, methods=["post"])
    def movements(self, request: Request, pk=None) -> Response:
        resident = self.get_object()
        payload = MovementCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            created = self._register(resident, data, clerk=request.user)
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else error.messages
            raise ValidationError(detail) from error
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        return Response(MovementSerializer(created, many=True).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _member(resident: Resident, pk: int | None) -> Resident | None:
        if pk is None:
            return None
        return get_object_or_404(Resident, pk=pk, household_id=resident.household_id)

    def _register(self, resident: Resident, data: dict, *, clerk) -> list[Movement]:
        kind = data["kind"]
        common = {"notified_on": data["notified_on"], "clerk": clerk}
        new_head = self._member(resident, data.get("new_head"))
        if kind == "move_out":
            return [
                services.register_move_out(
                    resident=resident,
                    effective_on=data["effective_on"],
                    destination=data.get("destination", ""),
                    new_head=new_head,
                    **common,
                )
            ]
        if kind == "death":
            return [
                services.register_death(
                    resident=resident, died_on=data["effective_on"], new_head=new_head, **common
                )
            ]
        if kind == "relocation":
            members = [self._member(resident, pk) for pk in data.get("members") or [resident.pk]]
            return services.register_relocation(
                residents=members,
                address=data.get("address", ""),
                effective_on=data["effective_on"],
                new_head=new_head,
                **common,
            )
        if kind == "household_change":
            if new_head is None:
                raise DjangoValidationError({"new_head": services.MSG_HEAD_NEEDS_SUCCESSOR})
            return [
                services.change_head_of_household(
                    household=resident.household,
                    new_head=new_head,
                    effective_on=data["effective_on"],
                    former_head_relationship=data.get("former_head_relationship", ""),
                    **common,
                )
            ]
        changes = dict(data.get("changes") or {})
        if "birth_date" in changes:
            changes["birth_date"] = serializers.DateField().to_internal_value(changes["birth_date"])
        return [
            services.correct_record(
                resident=resident, changes=changes, reason=data.get("reason", ""), **common
            )
        ]
