"""The taxes API: the public simulation, a resident's own assessments, staff reads of
assessments (audited like the pages) and run progress. Thin: reads through selectors, the
calculation through residenttax."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from cityhall import audit
from cityhall.api import StrictBooleanField
from cityhall.api_errors import ObjectJSONParser
from cityhall.roles import is_staff_member
from residents.selectors import get_resident, resident_for_user

from . import labels, residenttax, season, selectors
from .models import AssessmentRun
from .views import no_rules_message


class PersonSerializer(serializers.Serializer):
    age = serializers.IntegerField(min_value=0, max_value=130)
    income = serializers.IntegerField(min_value=0, default=0)
    lives_with = StrictBooleanField(default=True)
    parent = StrictBooleanField(default=False)
    disability = serializers.ChoiceField(
        choices=["normal", "special"], required=False, allow_null=True
    )


class LifeInsuranceSerializer(serializers.Serializer):
    new_general = serializers.IntegerField(min_value=0, default=0)
    old_general = serializers.IntegerField(min_value=0, default=0)
    nursing_medical = serializers.IntegerField(min_value=0, default=0)
    new_annuity = serializers.IntegerField(min_value=0, default=0)
    old_annuity = serializers.IntegerField(min_value=0, default=0)


@extend_schema_field({"type": "integer", "enum": residenttax.known_fiscal_years()})
class FiscalYearField(serializers.IntegerField):
    """A fiscal year the module has rules for, documented as the list of those years."""


class DeclarationSerializer(serializers.Serializer):
    """FORMATS.md §8's Declaration (yen as integers, ages at 31 Dec of the income year)."""

    fiscal_year = FiscalYearField()
    age = serializers.IntegerField(min_value=0, max_value=130)
    salary_revenue = serializers.IntegerField(min_value=0, default=0)
    pension_revenue = serializers.IntegerField(min_value=0, default=0)
    other_income = serializers.IntegerField(default=0)
    social_insurance = serializers.IntegerField(min_value=0, default=0)
    life_insurance = LifeInsuranceSerializer(required=False)
    earthquake_insurance = serializers.IntegerField(min_value=0, default=0)
    medical_expenses = serializers.IntegerField(min_value=0, default=0)
    spouse = PersonSerializer(required=False, allow_null=True)
    dependants = PersonSerializer(many=True, required=False)
    widow = StrictBooleanField(default=False)
    single_parent = serializers.ChoiceField(
        choices=["mother", "father"], required=False, allow_null=True
    )
    disability = serializers.ChoiceField(
        choices=["normal", "special"], required=False, allow_null=True
    )
    working_student = StrictBooleanField(default=False)
    housing_loan_credit = serializers.IntegerField(min_value=0, default=0)

    def validate_fiscal_year(self, value: int) -> int:
        try:
            residenttax.rules_for(value)
        except residenttax.NoRulesForYear as error:
            raise serializers.ValidationError(no_rules_message(error)) from None
        return value

    def declaration(self) -> residenttax.Declaration:
        data = dict(self.validated_data)
        data["life_insurance"] = residenttax.LifeInsurance(**(data.get("life_insurance") or {}))
        data["spouse"] = residenttax.Person(**data["spouse"]) if data.get("spouse") else None
        data["dependants"] = [residenttax.Person(**p) for p in data.get("dependants") or []]
        return residenttax.Declaration(**data)


class StepSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    city = serializers.IntegerField(allow_null=True)
    pref = serializers.IntegerField(allow_null=True)


class SimulationSerializer(serializers.Serializer):
    assessment = serializers.DictField()
    steps = StepSerializer(many=True)


def _steps(d, result) -> list[dict]:
    return [
        {"key": row["key"], "label": str(row["label"]), "city": row["city"], "pref": row["pref"]}
        for row in labels.step_rows(residenttax.steps(d, result))
    ]


@extend_schema(
    request=DeclarationSerializer,
    responses=SimulationSerializer,
    summary="Simulate the resident tax (nothing is stored)",
    tags=["taxes"],
)
@api_view(["POST"])
@permission_classes([AllowAny])
# JSON only: a form post cannot say null, and the declaration's optional choices may be null.
@parser_classes([ObjectJSONParser])
def simulate(request):
    serializer = DeclarationSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    d = serializer.declaration()
    try:
        result = residenttax.assess(d, **season.city_options())
    except ValueError as error:
        raise serializers.ValidationError({"non_field_errors": [str(error)]}) from None
    response = Response({"assessment": result.as_dict(), "steps": _steps(d, result)})
    response["Cache-Control"] = "no-store"
    return response


class AssessmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resident_id = serializers.IntegerField()
    fiscal_year = serializers.IntegerField()
    version = serializers.IntegerField()
    kind = serializers.CharField()
    is_current = serializers.BooleanField()
    rule_version = serializers.CharField()
    total_income = serializers.IntegerField()
    taxable = serializers.IntegerField()
    income_levy = serializers.IntegerField()
    per_capita = serializers.IntegerField()
    forest_tax = serializers.IntegerField()
    total = serializers.IntegerField()
    exempt_income_levy = serializers.BooleanField()
    exempt_per_capita = serializers.BooleanField()
    collection = serializers.CharField()
    schedule = serializers.DictField()
    inputs = serializers.DictField()
    result = serializers.DictField()
    created_at = serializers.DateTimeField()


@extend_schema(
    responses=AssessmentSerializer(many=True),
    summary="The signed-in resident's own assessments, every version",
    tags=["taxes"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def my_assessments(request):
    resident = resident_for_user(request.user)
    if resident is None:
        return Response([])
    return Response(AssessmentSerializer(selectors.assessments_of(resident), many=True).data)


@extend_schema(
    parameters=[OpenApiParameter("resident", int, required=True, description="resident id")],
    responses=AssessmentSerializer(many=True),
    summary="A resident's assessments (staff; every read is audited)",
    tags=["taxes"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def assessments(request):
    if not is_staff_member(request.user):
        raise PermissionDenied
    person = get_resident(request.query_params.get("resident"))
    if person is None:
        raise NotFound
    audit.record(
        action="taxes.resident_viewed",
        actor=request.user,
        obj=person,
        purpose="個人住民税の課税状況の確認（API）",
        request=request,
    )
    return Response(AssessmentSerializer(selectors.assessments_of(person), many=True).data)


class RunSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: "kind" and "state" are common field names, and an enum per
    # model would collide with payments' batch runs in the OpenAPI component names.
    kind = serializers.CharField(help_text="initial | recompute")
    state = serializers.CharField(help_text="pending | running | succeeded | failed")

    class Meta:
        model = AssessmentRun
        fields = [
            "id",
            "fiscal_year",
            "kind",
            "state",
            "total",
            "processed",
            "assessed_count",
            "changed_count",
            "unchanged_count",
            "exempt_count",
            "failed_count",
            "levy_total",
            "billed",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


@extend_schema(responses=RunSerializer, summary="Progress of an assessment run", tags=["taxes"])
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def run(request, pk: int):
    if not is_staff_member(request.user):
        raise PermissionDenied
    item = AssessmentRun.objects.filter(pk=pk).first()
    if item is None:
        raise NotFound
    return Response(RunSerializer(item).data)
